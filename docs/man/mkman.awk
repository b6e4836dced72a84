# mkman.awk - fill a man page template.
#
#   certspoa --help-config > keys.txt
#   awk -v version=0.1.0 -v prefix=/usr/local -v date=2026-01-31 \
#       -f mkman.awk keys.txt page.in > page
#
# The first file is the output of "certspoa --help-config"; the second is the
# template. In the template, a line "@KEYS@" becomes the key list (one .SS per
# section, one .TP per key) and @VERSION@, @PREFIX@ and @DATE@ (-v version=,
# -v prefix=, -v date=) are replaced everywhere.
# The key list therefore always matches the binary it was built with; the
# deployment tests compare the installed page with --help-config again.

# Make help text safe for roff: backslashes, and a leading '.' or '\''.
function esc(s) {
	gsub(/\\/, "\\e", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# Roff source lines of at most 72 characters, each made safe with esc().
function wrap(s,    n, i, w, line, res) {
	n = split(s, w, / +/)
	line = ""
	res = ""
	for (i = 1; i <= n; i++) {
		if (line != "" && length(line) + 1 + length(w[i]) > 72) {
			res = res esc(line) "\n"
			line = ""
		}
		line = line (line == "" ? "" : " ") w[i]
	}
	if (line != "")
		res = res esc(line) "\n"
	return res
}

function flush_key() {
	if (key == "")
		return
	out = out ".TP\n\\fB" esc(key) "\\fR = \\fI" esc(type) "\\fR"
	if (def == "(unset)")
		out = out " (default: unset)\n"
	else
		out = out " (default: \\fB" esc(def) "\\fR)\n"
	out = out wrap(help)
	key = ""
	help = ""
}

FILENAME == ARGV[1] {
	if ($0 ~ /^\[.*\]$/) {
		flush_key()
		out = out ".SS \"" esc($0) "\"\n"
		next
	}
	if ($0 ~ /^  [^ ]/) {
		flush_key()
		line = $0
		sub(/^  /, "", line)
		key = line
		sub(/ .*/, "", key)
		rest = substr(line, length(key) + 1)
		sub(/^ +/, "", rest)
		# "TYPE..., default DEFAULT": split at the last ", default "
		n = 0
		for (i = 1; i <= length(rest) - 9; i++)
			if (substr(rest, i, 10) == ", default ")
				n = i
		if (n) {
			type = substr(rest, 1, n - 1)
			def = substr(rest, n + 10)
		} else {
			type = rest
			def = "(unset)"
		}
		nkeys++
		next
	}
	if ($0 ~ /^      /) {
		line = $0
		sub(/^ +/, "", line)
		help = help (help == "" ? "" : " ") line
		next
	}
	next
}

{
	if ($0 == "@KEYS@") {
		flush_key()
		if (nkeys == 0) {
			print "mkman.awk: no keys in " ARGV[1] > "/dev/stderr"
			exit 1
		}
		printf "%s", out
		next
	}
	gsub(/@VERSION@/, version)
	gsub(/@PREFIX@/, prefix)
	gsub(/@DATE@/, date)
	print
}
