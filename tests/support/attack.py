import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
def attack(argv, wait_line):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={})
    if wait_line:
        p.stdout.readline()  # the provider has started and hardened itself
    res = {}
    try:
        with open(f"/proc/{p.pid}/mem", "rb") as f:
            res["mem"] = "readable"
    except OSError as e:
        res["mem"] = f"denied:{e.errno}"
    r = libc.ptrace(16, p.pid, None, None)  # PTRACE_ATTACH
    res["ptrace"] = "attached" if r == 0 else f"denied:{ctypes.get_errno()}"
    if r == 0:
        os.waitpid(p.pid, 0)
        libc.ptrace(17, p.pid, None, None)  # PTRACE_DETACH
    p.kill(); p.wait()
    return res
print("control", attack(["sleep", "30"], False))
print("provider", attack([sys.argv[1], "--cargo-plugin"], True))
