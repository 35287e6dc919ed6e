# shellcheck shell=bash
# bash completion for shardctl(8). Commands, options and their values come
# from the binary's own --help (ctl_usage() prints the option tables the
# parser uses), so a new command or option completes without touching this
# file. Device names come from `ip -o link` (netlink, so the current network
# namespace) or, without iproute2, /sys/class/net.
#
# Works with or without the bash-completion package: it only uses
# COMP_WORDS/COMP_CWORD and compgen.

_shardctl_devices() {
	local names
	if command -v ip >/dev/null 2>&1; then
		names=$(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
	else
		names=$(ls /sys/class/net 2>/dev/null)
	fi
	grep -vx lo <<<"$names"
}

# "  -i, --interval S    text" -> "-i --interval"
_shardctl_options() {
	"$1" "$2" --help 2>/dev/null | awk '
		/^Options:$/ { on = 1; next }
		on && /^$/ { exit }
		on { for (i = 1; i <= NF && $i ~ /^-/; i++) { sub(/,$/, "", $i); print $i } }'
}

# The argument name an option takes ("MODE"), empty for a flag.
_shardctl_option_arg() {
	"$1" "$2" --help 2>/dev/null | awk -v opt="$3" '
		/^Options:$/ { on = 1; next }
		on && /^$/ { exit }
		on {
			for (i = 1; i <= NF && $i ~ /^-/; i++) { o = $i; sub(/,$/, "", o); if (o == opt) hit = 1 }
			if (hit) { if ($i ~ /^[A-Z]/) print $i; exit }
		}'
}

# Values spelled out in an option's help, "auto (default), tcx or tc (...)":
# drop parenthesised parts, cut at ':', split on ',' and ' or '; offered only
# when there are several and every one is a single lowercase word.
_shardctl_option_values() {
	"$1" "$2" --help 2>/dev/null | awk -v opt="$3" '
		/^Options:$/ { on = 1; next }
		on && /^$/ { exit }
		on {
			for (i = 1; i <= NF && $i ~ /^-/; i++) { o = $i; sub(/,$/, "", o); if (o == opt) hit = 1 }
			if (!hit) next
			if ($i !~ /^[A-Z]/) exit
			help = ""
			for (j = i + 1; j <= NF; j++) help = help " " $j
			while (gsub(/\([^()]*\)/, "", help)) ;
			sub(/:.*/, "", help)
			n = split(help, w, /,| or /)
			if (n < 2) exit
			for (k = 1; k <= n; k++) { gsub(/^ +| +$/, "", w[k]); if (w[k] !~ /^[a-z][a-z0-9_-]*$/) exit }
			for (k = 1; k <= n; k++) print w[k]
			exit
		}'
}

# Positional argument names from "Usage: shardctl CMD [OPTIONS] DEV RXQ SHARD".
_shardctl_positionals() {
	"$1" "$2" --help 2>/dev/null | awk 'NR == 1 {
		for (i = 4; i <= NF; i++) if ($i != "[OPTIONS]") { a = $i; gsub(/[][.]/, "", a); print a }
		exit }'
}

_shardctl_complete_arg() {
	local kind=$1 cur=$2
	case $kind in
	DEV)
		mapfile -t COMPREPLY < <(compgen -W "$(_shardctl_devices)" -- "$cur")
		;;
	DEV\[,*)
		# DEV[,DEV...]: complete the last element of a comma-separated list
		local head=""
		[[ $cur == *,* ]] && head=${cur%,*},
		mapfile -t COMPREPLY < <(compgen -P "$head" -W "$(_shardctl_devices)" -- "${cur##*,}")
		;;
	*FILE*)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
}

_shardctl() {
	local sc=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev="" opt="" cmd="" i w
	local -a args

	COMPREPLY=()
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# The command is the first word that is not an option.
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -* ]] && continue
		cmd=${COMP_WORDS[i]}
		break
	done
	if [ -z "$cmd" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$sc" --help 2>/dev/null |
			awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on { exit }')
			--help --version" -- "$cur")
		return 0
	fi

	# --opt=VALUE: bash splits it into "--opt" "=" "VALUE" (COMP_WORDBREAKS).
	if [ "$cur" = "=" ] && [[ $prev == --* ]]; then
		opt=$prev cur=""
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $prev == -* ]]; then
		opt=$prev
	fi
	if [ -n "$opt" ]; then
		local argname
		argname=$(_shardctl_option_arg "$sc" "$cmd" "$opt")
		if [ -n "$argname" ]; then
			local values
			values=$(_shardctl_option_values "$sc" "$cmd" "$opt")
			if [ -n "$values" ]; then
				mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
			else
				_shardctl_complete_arg "$argname" "$cur"
			fi
			return 0
		fi
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_shardctl_options "$sc" "$cmd")" -- "$cur")
		return 0
	fi

	# Which positional is this? Skip the command, options and their values.
	local ci=0 n=0 skip=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ $skip = 1 ]; then skip=0; continue; fi
		if [ "$w" = "=" ]; then skip=1; continue; fi
		if [[ $w == -* ]]; then
			[ "${COMP_WORDS[i + 1]:-}" != "=" ] &&
				[ -n "$(_shardctl_option_arg "$sc" "$cmd" "$w")" ] && skip=1
			continue
		fi
		if [ $ci = 0 ]; then ci=$i; continue; fi
		n=$((n + 1))
	done
	mapfile -t args < <(_shardctl_positionals "$sc" "$cmd")
	[ "$n" -lt "${#args[@]}" ] && _shardctl_complete_arg "${args[n]}" "$cur"
	return 0
}

complete -F _shardctl shardctl
