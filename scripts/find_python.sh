# Sourced by ensure_venv.sh and compat.sh: find_python X.Y prints an interpreter of exactly that minor
# version (PATH first, then pyenv), or returns 1.
find_python() {
  local want="$1" cand v
  for cand in "python$want" "$(pyenv root 2>/dev/null)/versions/$want"*/bin/"python$want"; do
    if command -v "$cand" >/dev/null 2>&1 && \
       [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      command -v "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    v="$(pyenv versions --bare 2>/dev/null | grep -E "^$want\.[0-9]+$" | tail -n 1 || true)"
    if [ -n "$v" ]; then echo "$(pyenv root)/versions/$v/bin/python$want"; return 0; fi
  fi
  return 1
}
