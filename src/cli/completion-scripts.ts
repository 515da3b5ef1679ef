// The shell side of completion: small scripts that hand the words typed so far to
// `vmsnap __complete` (src/cli/complete.ts) and give its candidates to the shell, honouring
// cobra's directives (1 error, 2 no space, 4 no file completion, 16 directories only, 32 keep
// order). They hold no knowledge of vmsnap's commands: that all comes from the CLI itself.

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: Shell[] = ["bash", "zsh", "fish"];

/** bash ≥ 4.4. The function is named so tests can call it with COMP_WORDS set. */
const bash = `# bash completion for vmsnap
#   source <(vmsnap completion bash)                      # this shell
#   vmsnap completion bash > ~/.local/share/bash-completion/completions/vmsnap
__vmsnap_complete() {
  local i w words=() out last directive cur
  # bash splits --flag=value at "=" (COMP_WORDBREAKS): put the pieces together again.
  for ((i = 1; i <= COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((\${#words[@]} > 0)) && [[ "$w" == "=" || "\${words[-1]}" == *= ]]; then
      words[-1]+="$w"
    else
      words+=("$w")
    fi
  done
  ((\${#words[@]} > 0)) || words=("")
  cur="\${words[-1]}"
  out="$("\${COMP_WORDS[0]}" __completeNoDesc "\${words[@]}" 2>/dev/null)" || return 0
  last="\${out##*$'\\n'}"
  directive="\${last#:}"
  [[ "$directive" =~ ^[0-9]+$ ]] || directive=0
  out="\${out%"$last"}"
  COMPREPLY=()
  ((directive & 1)) && return 0
  if ((directive & 16)); then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return 0
  fi
  while IFS= read -r w; do
    [[ -n "$w" ]] && COMPREPLY+=("$w")
  done <<<"$out"
  # With "--flag=" in the word, bash replaces only what follows the "=".
  if [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
    COMPREPLY=("\${COMPREPLY[@]#"\${cur%%=*}="}")
  fi
  ((directive & 2)) && compopt -o nospace 2>/dev/null
  ((directive & 32)) && compopt -o nosort 2>/dev/null
  if ((\${#COMPREPLY[@]} == 0)); then
    if ((directive & 4)); then compopt +o default 2>/dev/null; else compopt -o default 2>/dev/null; fi
  fi
  return 0
}
complete -o default -F __vmsnap_complete vmsnap kubectl-vmsnap
`;

/** zsh (after compinit). */
const zsh = `#compdef vmsnap kubectl-vmsnap
# zsh completion for vmsnap
#   source <(vmsnap completion zsh)                       # this shell (after compinit)
#   vmsnap completion zsh > "\${fpath[1]}/_vmsnap"          # every new shell
_vmsnap() {
  local out last directive line value description
  local -a lines candidates
  out="$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)" || return 1
  lines=("\${(@f)out}")
  last="\${lines[-1]}"
  directive="\${last#:}"
  [[ "$directive" == <-> ]] || directive=0
  lines=("\${(@)lines[1,-2]}")
  (( directive & 1 )) && return 1
  if (( directive & 16 )); then _path_files -/; return; fi
  for line in "\${lines[@]}"; do
    [[ -z "$line" ]] && continue
    value="\${line%%$'\\t'*}"
    description=""
    [[ "$line" == *$'\\t'* ]] && description="\${line#*$'\\t'}"
    candidates+=("\${value//:/\\\\:}\${description:+:$description}")
  done
  if (( \${#candidates} == 0 )); then
    (( directive & 4 )) && return 1
    _files
    return
  fi
  local -a opts
  (( directive & 2 )) && opts+=(-S '')
  if (( directive & 32 )); then opts+=(-V vmsnap); else opts+=(-J vmsnap); fi
  _describe -t vmsnap vmsnap candidates "\${opts[@]}"
}
if [[ "$funcstack[1]" == "_vmsnap" ]]; then
  _vmsnap "$@"
else
  compdef _vmsnap vmsnap kubectl-vmsnap
fi
`;

/** fish ≥ 3.5 (math bitand). */
const fish = `# fish completion for vmsnap
#   vmsnap completion fish | source                      # this shell
#   vmsnap completion fish > ~/.config/fish/completions/vmsnap.fish
function __vmsnap_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l out (command $words[1] __complete $words[2..-1] $cur 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    string match -qr '^[0-9]+$' -- $directive; or set directive 0
    set -e out[-1]
    test (math "bitand($directive, 1)") -ne 0; and return
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories $cur
        return
    end
    if test (count $out) -eq 0
        test (math "bitand($directive, 4)") -ne 0; and return
        __fish_complete_path $cur
        return
    end
    printf '%s\\n' $out
end
complete -c vmsnap -f -a '(__vmsnap_complete)'
complete -c kubectl-vmsnap -f -a '(__vmsnap_complete)'
`;

export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell];
}
