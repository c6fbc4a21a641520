//! Before any window: the backend chosen and winit connected to exactly it, the display
//! server behind winit's own connection checked (on X11 the helper's second connection and
//! the input guard too), and the fonts warmed up meanwhile.

use super::*;

/// A display connection that passed every check, with the input guard already running on
/// it, ready for a window.
pub(super) struct Prepared {
    pub(super) kind: Kind,
    pub(super) event_loop: EventLoop<Wake>,
    pub(super) proxy: EventLoopProxy<Wake>,
    #[cfg(target_os = "linux")]
    pub(super) session: Option<std::sync::Arc<display::x11::Session>>,
    pub(super) guard: Option<Guard>,
    pub(super) ctx: egui::Context,
    pub(super) raster: Rasterizer,
}

/// Every printable ASCII character, for [`warm_up`].
pub(super) const ASCII: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Loads egui's fonts and puts the glyphs of every text style into the atlas, in a frame
/// nobody sees: the tens of milliseconds this takes are spent while the broker is still
/// reading the keychain, not after the window was asked for.
pub(super) fn warm_up(ctx: &egui::Context, raster: &mut Rasterizer) {
    let raw = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            layout::CONFIRM_SIZE,
        )),
        ..Default::default()
    };
    let mut out = ctx.run_ui(raw, |ui| {
        for style in [
            egui::TextStyle::Heading,
            egui::TextStyle::Body,
            egui::TextStyle::Monospace,
            egui::TextStyle::Button,
            egui::TextStyle::Small,
        ] {
            ui.label(egui::RichText::new(ASCII).text_style(style));
        }
    });
    let mut textures = std::mem::take(&mut out.textures_delta);
    raster.set_textures(&mut textures);
    raster.free_textures(textures);
}

/// Chooses the backend, connects winit to exactly that one, and checks the server behind
/// winit's own connection (on X11, also the helper's second connection and the guard).
pub(super) fn prepare(env: &Snapshot, policy: &DisplayPolicy) -> Result<Prepared, Error> {
    let kind = display::choose(env).map_err(|e| Error::Display(e.to_string()))?;
    // Fonts and the glyph atlas need no display: build them on a second thread while this one
    // connects and checks the display, the two slow halves of getting to a first frame.
    let fonts = std::thread::spawn(|| {
        let ctx = egui::Context::default();
        crate::ui::text_options(&ctx);
        let mut raster = Rasterizer::default();
        warm_up(&ctx, &mut raster);
        (ctx, raster)
    });
    let mut builder = EventLoop::<Wake>::with_user_event();
    #[cfg(target_os = "linux")]
    {
        use winit::platform::wayland::EventLoopBuilderExtWayland;
        use winit::platform::x11::EventLoopBuilderExtX11;
        match kind {
            Kind::Wayland(_) => EventLoopBuilderExtWayland::with_wayland(&mut builder),
            _ => EventLoopBuilderExtX11::with_x11(&mut builder),
        };
    }
    let event_loop = builder
        .build()
        .map_err(|e| Error::Display(format!("cannot connect to the display: {e}")))?;
    let proxy = event_loop.create_proxy();
    #[cfg(target_os = "linux")]
    let (session, guard) = check_display(&event_loop, &kind, policy, &proxy)?;
    #[cfg(not(target_os = "linux"))]
    let guard: Option<Guard> = {
        let _ = policy;
        None
    };
    let (ctx, raster) = fonts
        .join()
        .map_err(|_| Error::Display("building the window's fonts failed".into()))?;
    Ok(Prepared {
        kind,
        event_loop,
        proxy,
        #[cfg(target_os = "linux")]
        session,
        guard,
        ctx,
        raster,
    })
}

/// The server behind winit's own connection must be the person's; on X11 the helper's own
/// connection must reach the same server process, and the input guard starts on it before
/// any window exists. Wayland compositors that let any client drive a virtual pointer or
/// keyboard are refused unless the policy file allows them.
#[cfg(target_os = "linux")]
#[allow(clippy::type_complexity)]
pub(super) fn check_display(
    event_loop: &EventLoop<Wake>,
    kind: &Kind,
    policy: &DisplayPolicy,
    proxy: &EventLoopProxy<Wake>,
) -> Result<(Option<std::sync::Arc<display::x11::Session>>, Option<Guard>), Error> {
    use raw_window_handle::HasDisplayHandle;
    let refused = |why: String| Error::Refused(Refusal::UntrustedDisplay(why));
    let owned = event_loop.owned_display_handle();
    let handle = owned
        .display_handle()
        .map_err(|e| Error::Display(e.to_string()))?;
    let connected = display::connection::check_winit(handle, kind, policy)
        .map_err(|e| refused(e.to_string()))?;
    display::connection::refuse_virtual_input(&connected.virtual_input, policy)
        .map_err(|e| refused(e.to_string()))?;
    let Kind::X11(d) = kind else {
        return Ok((None, None));
    };
    let session = std::sync::Arc::new(
        display::x11::Session::connect(d).map_err(|e| Error::Display(e.to_string()))?,
    );
    session
        .refuse_xtest(policy)
        .map_err(|e| refused(e.to_string()))?;
    let pid = session.server_pid().map_err(|e| refused(e.to_string()))?;
    if pid != connected.trusted.pid {
        return Err(refused(format!(
            "the helper's two connections to {d} reach different servers (pids {} and {pid})",
            connected.trusted.pid
        )));
    }
    // The guard starts before the window: a prompt that cannot tell a person's click from
    // a synthetic one is not shown at all.
    let wake = proxy.clone();
    let guard = Guard::start_x11(session.clone(), move || {
        let _ = wake.send_event(Wake);
    })
    .map_err(|e| {
        Error::Display(format!(
            "cannot check where input comes from, so no prompt is shown: {e}"
        ))
    })?;
    Ok((Some(session), Some(guard)))
}
