//! Serves the loopback test registry until killed, for trying cargo by hand:
//! `cargo run --example serve_registry` prints the index URL to put in a cargo config.

fn main() {
    let r = cargo_confirm_gui_testkit::Registry::start(Default::default()).expect("start registry");
    eprintln!("index = \"{}\"", r.index_url());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(5));
        for h in r.hits() {
            eprintln!(
                "{} {} {} auth={}",
                h.method,
                h.path,
                h.status,
                h.authorization.is_some()
            );
        }
    }
}
