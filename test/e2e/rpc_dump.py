#!/usr/bin/env python3
# Dumps one pid over CRIU's RPC (criu swrk) with the engine fields of
# criu_opts, using pycriu from the patched CRIU tree.
#
# usage: rpc_dump.py CRIU_LIB_DIR CRIU_BIN PID IMAGES_DIR ENGINE [ENGINE_OP...]
# Plugins come from $CRIU_LIBS_DIR (RPC has no libdir field).
import os
import sys

sys.path.insert(0, sys.argv[1])
import pycriu  # noqa: E402


def main():
    criu_bin, pid, images, engine = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    c = pycriu.criu()
    c.use_binary(criu_bin)
    c.opts.images_dir_fd = os.open(images, os.O_DIRECTORY)
    c.opts.pid = pid
    c.opts.leave_running = True
    c.opts.log_file = 'dump.log'
    c.opts.log_level = 4
    c.opts.engine = engine
    c.opts.engine_op.extend(sys.argv[6:])
    c.opts.engine_verify = True
    try:
        c.dump()
    except pycriu.CRIUExceptionExternal as e:
        print('rpc dump failed: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
