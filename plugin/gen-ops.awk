# gen-ops.awk: build/plugin/crib_ops.h from ops/registry (plugin.mk).
# Refuses a registry whose ids are not 0, 1, 2, ... in order, or that
# names an op twice.
BEGIN { n = 0 }
function fail(msg) { print FILENAME ":" FNR ": " msg > "/dev/stderr"; bad = 1; exit 1 }
/^[ \t]*(#|$)/ { next }
{
	if ($1 != n) fail("id " $1 " where " n " was expected")
	if ($2 !~ /^[a-z][a-z0-9_]*$/) fail("op name '" $2 "' is not a C identifier")
	if ($2 in seen) fail("op " $2 " named twice")
	if ($3 != "core" && $3 != "ops/" $2) fail("op " $2 ": folder '" $3 "' is neither core nor ops/" $2)
	seen[$2] = 1
	name[n] = $2; folder[n] = $3; n++
}
END {
	if (bad) exit 1
	print "/* Made from ops/registry by plugin/gen-ops.awk: do not edit. */"
	print "#ifndef __CRIB_OPS_H__"
	print "#define __CRIB_OPS_H__"
	print ""
	print "#define CRIB_NR_OPS " n
	print ""
	printf "#define CRIB_OP_NAMES { "
	for (i = 0; i < n; i++) printf "%s\"%s\"", i ? ", " : "", name[i]
	print " }"
	print ""
	print "/* X(name, NAME, id) for every op, and for the ops of a folder (ops/NAME) */"
	printf "#define CRIB_OPS(X)"
	for (i = 0; i < n; i++) printf " \\\n\tX(%s, %s, %d)", name[i], toupper(name[i]), i
	print ""
	printf "#define CRIB_FOLDER_OPS(X)"
	for (i = 0; i < n; i++) if (folder[i] != "core") printf " \\\n\tX(%s, %s, %d)", name[i], toupper(name[i]), i
	print ""
	print ""
	print "#endif /* __CRIB_OPS_H__ */"
}
