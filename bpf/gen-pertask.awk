# gen-pertask.awk: build/bpf/pertask_ops.h from ops/registry (bpf.mk): the
# ops of a folder that has a FILL header (ops/NAME/NAME_fields.h, given
# in "fields"), in registry order, for bpf/pertask.bpf.c.
BEGIN {
	n = split(fields, f, " ")
	for (i = 1; i <= n; i++)
		has[f[i]] = 1
}
/^[ \t]*(#|$)/ { next }
$3 == "ops/" $2 && (($3 "/" $2 "_fields.h") in has) { op[k++] = $2 }
END {
	if (!k) {
		print FILENAME ": no op of a folder has a NAME_fields.h" > "/dev/stderr"
		exit 1
	}
	print "/* Made from ops/registry by bpf/gen-pertask.awk: do not edit. */"
	print "#ifndef __CRIB_PERTASK_OPS_H__"
	print "#define __CRIB_PERTASK_OPS_H__"
	print ""
	for (i = 0; i < k; i++) print "#include \"ops/" op[i] "/" op[i] "_fields.h\""
	print ""
	print "/* X(name) for each op of crib_pertask, in registry order */"
	printf "#define CRIB_PERTASK_OPS(X)"
	for (i = 0; i < k; i++) printf " \\\n\tX(%s)", op[i]
	print ""
	print ""
	print "#endif /* __CRIB_PERTASK_OPS_H__ */"
}
