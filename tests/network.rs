//! After `deny_network` (which the helper calls once its window exists), the process cannot
//! open TCP or UDP sockets, not even on loopback and not from another thread, while Unix
//! sockets (X11, Wayland, D-Bus) still work. This test binary applies the filter to itself:
//! it holds this one test only, so nothing else runs in the filtered process.

#![cfg(target_os = "linux")]

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;

#[test]
fn no_new_inet_sockets_after_deny_network_but_unix_sockets_work() {
    // Control: before the filter, a loopback connection works.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    TcpStream::connect(addr).expect("control connection before the filter");
    // A thread that exists before the filter is covered too (TSYNC).
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        wait.recv().unwrap();
        TcpStream::connect(addr).map(|_| ())
    });

    cargo_confirm_gui::harden::deny_network().expect("seccomp is available on this kernel");

    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
    assert!(TcpListener::bind("127.0.0.1:0").is_err());
    assert!(UdpSocket::bind("127.0.0.1:0").is_err());
    assert!(TcpStream::connect("[::1]:1").is_err());
    go.send(()).unwrap();
    let from_thread = worker.join().unwrap();
    assert!(from_thread.is_err(), "an older thread could still connect");
    // Unix sockets are untouched.
    let (a, _b) = UnixStream::pair().unwrap();
    drop(a);
    // Applying it again is harmless.
    cargo_confirm_gui::harden::deny_network().unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
}
