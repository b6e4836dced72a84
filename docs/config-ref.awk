# config-ref.awk - turn `certspoa --help-config` into the Markdown table that
# README.md carries between its config-reference markers. `make docs`
# rewrites it; tests/docs.sh fails when README is out of date.
/^\[/ {
	section = substr($0, 2, length($0) - 2)
	next
}
/^  [a-z_]+ / {
	key = $1
	rest = substr($0, index($0, key) + length(key))
	sub(/^ +/, "", rest)
	n = index(rest, ", default ")
	type = substr(rest, 1, n - 1)
	def = substr(rest, n + 10)
	next
}
/^      / {
	help = $0
	sub(/^ +/, "", help)
	gsub(/\|/, "\\|", help)
	gsub(/\|/, "\\|", type)
	printf "| %s | `%s` | %s | `%s` | %s |\n", section, key, type, def, help
}
