//! Draws egui's output on the CPU: textured, vertex-coloured triangles into a pixel buffer.
//!
//! egui hands a frame over as meshes: triangles whose vertices carry a position (in points),
//! a premultiplied sRGBA colour and a texture coordinate, clipped to a rectangle. Text samples
//! the font atlas; everything else samples its one white texel. Anti-aliasing is already in
//! the meshes (egui "feathers" every edge with a thin triangle fading to transparent), so a
//! plain rasteriser with premultiplied "over" blending in gamma space draws what `egui_glow`
//! draws, with no GPU, GL or driver in the process.
//!
//! No maintained crate rasterises egui 0.37 meshes (`egui_software_backend` and
//! `dream-soft-render` are built for egui 0.34), hence this file.

use std::collections::HashMap;

use egui::epaint::{ClippedPrimitive, Mesh, Primitive, TextureId, Vertex};
use egui::{ImageData, TextureFilter, TextureOptions, TextureWrapMode, TexturesDelta};

/// An RGBA picture, premultiplied, row by row from the top left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    /// Width in pixels.
    pub(crate) width: usize,
    /// Height in pixels.
    pub(crate) height: usize,
    /// `width * height` pixels.
    pub pixels: Vec<[u8; 4]>,
}

impl Canvas {
    /// A canvas of this size, opaque black.
    pub fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![[0, 0, 0, 255]; width * height],
        }
    }

    /// Resizes (contents are lost) and fills with opaque black.
    pub fn reset(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.pixels.clear();
        self.pixels.resize(width * height, [0, 0, 0, 255]);
    }

    /// The pixel at (x, y).
    #[cfg(test)]
    fn get(&self, x: usize, y: usize) -> [u8; 4] {
        self.pixels[y * self.width + x]
    }

    /// Each pixel as `0x00RRGGBB`, the layout of an X11 ZPixmap of depth 24 on a
    /// little-endian machine and of softbuffer's buffers.
    pub(crate) fn write_xrgb(&self, out: &mut [u32]) {
        for (o, p) in out.iter_mut().zip(&self.pixels) {
            *o = xrgb(*p);
        }
    }
}

/// One pixel as `0x00RRGGBB`.
pub(crate) fn xrgb(p: [u8; 4]) -> u32 {
    (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32
}

struct Texture {
    width: usize,
    height: usize,
    /// Premultiplied RGBA.
    texels: Vec<[u8; 4]>,
    options: TextureOptions,
}

impl Texture {
    fn texel(&self, x: isize, y: isize) -> [u8; 4] {
        let wrap = |v: isize, n: usize| -> usize {
            let n = n as isize;
            match self.options.wrap_mode {
                TextureWrapMode::Repeat => v.rem_euclid(n) as usize,
                TextureWrapMode::MirroredRepeat => {
                    let m = v.rem_euclid(2 * n);
                    (if m < n { m } else { 2 * n - 1 - m }) as usize
                }
                TextureWrapMode::ClampToEdge => v.clamp(0, n - 1) as usize,
            }
        };
        self.texels[wrap(y, self.height) * self.width + wrap(x, self.width)]
    }

    /// Samples at normalised (u, v); premultiplied, each channel 0..=1.
    fn sample(&self, u: f32, v: f32, magnified: bool) -> [f32; 4] {
        let filter = if magnified {
            self.options.magnification
        } else {
            self.options.minification
        };
        let x = u * self.width as f32 - 0.5;
        let y = v * self.height as f32 - 0.5;
        match filter {
            TextureFilter::Nearest => {
                let t = self.texel(floor(x + 0.5) as isize, floor(y + 0.5) as isize);
                t.map(|c| c as f32 / 255.0)
            }
            TextureFilter::Linear => {
                let (x0, y0) = (floor(x), floor(y));
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let a = self.texel(x0, y0);
                let b = self.texel(x0 + 1, y0);
                let c = self.texel(x0, y0 + 1);
                let d = self.texel(x0 + 1, y0 + 1);
                std::array::from_fn(|i| {
                    let top = a[i] as f32 * (1.0 - fx) + b[i] as f32 * fx;
                    let bottom = c[i] as f32 * (1.0 - fx) + d[i] as f32 * fx;
                    (top * (1.0 - fy) + bottom * fy) / 255.0
                })
            }
        }
    }
}

/// The textures egui asked for, and the drawing of its meshes with them.
pub struct Rasterizer {
    textures: HashMap<TextureId, Texture>,
    /// Whether glyph rectangles take the fast path (off only in tests, to compare).
    quads: bool,
}

impl Default for Rasterizer {
    fn default() -> Self {
        Rasterizer {
            textures: HashMap::new(),
            quads: true,
        }
    }
}

/// A clip rectangle in whole pixels: `x0..x1`, `y0..y1`.
#[derive(Debug, Clone, Copy)]
struct Clip {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Rasterizer {
    /// Applies the texture uploads of a frame (call before [`Rasterizer::paint`]).
    pub fn set_textures(&mut self, delta: &mut TexturesDelta) {
        for (id, deltas) in delta.set.drain() {
            for d in deltas {
                let ImageData::Color(image) = &d.image;
                let [w, h] = image.size;
                let texels: Vec<[u8; 4]> = image.pixels.iter().map(|c| c.to_array()).collect();
                match d.pos {
                    None => {
                        self.textures.insert(
                            id,
                            Texture {
                                width: w,
                                height: h,
                                texels,
                                options: d.options,
                            },
                        );
                    }
                    Some([x0, y0]) => {
                        // A patch of a texture egui created earlier; a patch for an unknown
                        // texture or outside it is a bug upstream, skipped rather than a panic.
                        let Some(t) = self.textures.get_mut(&id) else {
                            continue;
                        };
                        if x0 + w > t.width || y0 + h > t.height {
                            continue;
                        }
                        for row in 0..h {
                            let dst = (y0 + row) * t.width + x0;
                            t.texels[dst..dst + w].copy_from_slice(&texels[row * w..(row + 1) * w]);
                        }
                        t.options = d.options;
                    }
                }
            }
        }
    }

    /// Frees the textures egui no longer needs (call after [`Rasterizer::paint`]).
    pub fn free_textures(&mut self, mut delta: TexturesDelta) {
        for id in delta.free.drain() {
            self.textures.remove(&id);
        }
    }

    /// Draws a frame's primitives over `canvas`. `pixels_per_point` scales egui's points to
    /// the canvas's pixels.
    pub fn paint(
        &self,
        canvas: &mut Canvas,
        primitives: &[ClippedPrimitive],
        pixels_per_point: f32,
    ) {
        for p in primitives {
            let Primitive::Mesh(mesh) = &p.primitive else {
                // Paint callbacks need a GPU; no view of ours makes one.
                continue;
            };
            let to_px =
                |v: f32, max: usize| (v * pixels_per_point).round().clamp(0.0, max as f32) as usize;
            let clip = Clip {
                x0: to_px(p.clip_rect.min.x, canvas.width),
                y0: to_px(p.clip_rect.min.y, canvas.height),
                x1: to_px(p.clip_rect.max.x, canvas.width),
                y1: to_px(p.clip_rect.max.y, canvas.height),
            };
            if clip.x0 >= clip.x1 || clip.y0 >= clip.y1 {
                continue;
            }
            // A mesh whose texture egui never uploaded (or freed) has nothing to show.
            let Some(texture) = self.textures.get(&mesh.texture_id) else {
                continue;
            };
            let indices = &mesh.indices;
            let mut i = 0;
            while i + 3 <= indices.len() {
                // A glyph: two triangles making an axis-aligned rectangle drawn one texel to
                // one pixel (how egui lays out text). Copied texel by texel, with no edge
                // tests; the same pixels and values as the two triangles would give.
                if self.quads
                    && let Some(q) = indices
                        .get(i..i + 6)
                        .and_then(|six| glyph_quad(mesh, six, pixels_per_point, texture))
                {
                    blit(canvas, clip, &q, texture);
                    i += 6;
                    continue;
                }
                let tri = &indices[i..i + 3];
                let vertex = |i: u32| mesh.vertices.get(i as usize);
                if let (Some(a), Some(b), Some(c)) =
                    (vertex(tri[0]), vertex(tri[1]), vertex(tri[2]))
                {
                    triangle(canvas, clip, [a, b, c], pixels_per_point, texture);
                }
                i += 3;
            }
        }
    }
}

/// A glyph rectangle in pixels, `x0..x1` × `y0..y1` (whole pixels, inside the canvas but
/// not yet clipped), its texels starting at (`tx`, `ty`), and its colour.
struct GlyphQuad {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    tx: usize,
    ty: usize,
    color: [u8; 4],
}

/// `six` as egui's `Mesh::add_rect_with_uv` writes a rectangle: vertices `a..a+4` (left top,
/// right top, left bottom, right bottom), triangles `a, a+1, a+2` and `a+2, a+1, a+3`; one
/// colour; axis-aligned in both position and texture; one texel per pixel; pixel centres on
/// texel centres; every texel inside the texture. Anything else is left to [`triangle`].
fn glyph_quad(mesh: &Mesh, six: &[u32], ppp: f32, texture: &Texture) -> Option<GlyphQuad> {
    let a = six[0];
    if six != [a, a + 1, a + 2, a + 2, a + 1, a + 3] {
        return None;
    }
    let v = mesh.vertices.get(a as usize..a as usize + 4)?;
    let color = v[0].color;
    if v.iter().any(|q| q.color != color) {
        return None;
    }
    let (lt, rt, lb, rb) = (&v[0], &v[1], &v[2], &v[3]);
    let aligned = lt.pos.y == rt.pos.y
        && lb.pos.y == rb.pos.y
        && lt.pos.x == lb.pos.x
        && rt.pos.x == rb.pos.x
        && lt.uv.y == rt.uv.y
        && lb.uv.y == rb.uv.y
        && lt.uv.x == lb.uv.x
        && rt.uv.x == rb.uv.x;
    if !aligned {
        return None;
    }
    let (x0, x1) = (lt.pos.x * ppp, rt.pos.x * ppp);
    let (y0, y1) = (lt.pos.y * ppp, lb.pos.y * ppp);
    let (tw, th) = (texture.width as f32, texture.height as f32);
    let (w, h) = (x1 - x0, y1 - y0);
    if !(w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite()) {
        return None;
    }
    // The same tolerance as the triangle path's one-to-one test.
    let one_to_one = ((rt.uv.x - lt.uv.x) * tw / w - 1.0).abs() < 1e-4
        && ((lb.uv.y - lt.uv.y) * th / h - 1.0).abs() < 1e-4;
    if !one_to_one {
        return None;
    }
    // Pixels whose centre is inside: x + 0.5 in [x0, x1).
    let first = |lo: f32| ceil(lo - 0.5).max(0.0);
    let (px0, px1) = (first(x0), first(x1));
    let (py0, py1) = (first(y0), first(y1));
    if px0 >= px1 || py0 >= py1 {
        return None;
    }
    // The texel under the first pixel's centre must be a texel centre.
    let tx = lt.uv.x * tw + (px0 + 0.5 - x0) - 0.5;
    let ty = lt.uv.y * th + (py0 + 0.5 - y0) - 0.5;
    let (rx, ry) = (floor(tx + 0.5), floor(ty + 0.5));
    if (tx - rx).abs() >= 1e-3 || (ty - ry).abs() >= 1e-3 || rx < 0.0 || ry < 0.0 {
        return None;
    }
    if rx + (px1 - px0) > tw || ry + (py1 - py0) > th {
        return None;
    }
    Some(GlyphQuad {
        x0: px0 as usize,
        x1: px1 as usize,
        y0: py0 as usize,
        y1: py1 as usize,
        tx: rx as usize,
        ty: ry as usize,
        color: color.to_array(),
    })
}

fn blit(canvas: &mut Canvas, clip: Clip, q: &GlyphQuad, texture: &Texture) {
    let (x0, x1) = (q.x0.max(clip.x0), q.x1.min(clip.x1));
    let (y0, y1) = (q.y0.max(clip.y0), q.y1.min(clip.y1));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let c = q.color;
    for y in y0..y1 {
        let t0 = (q.ty + y - q.y0) * texture.width + q.tx + (x0 - q.x0);
        let texels = &texture.texels[t0..t0 + (x1 - x0)];
        let line = &mut canvas.pixels[y * canvas.width + x0..y * canvas.width + x1];
        for (d, t) in line.iter_mut().zip(texels) {
            if *t == [0; 4] {
                continue;
            }
            let src: [u8; 4] =
                std::array::from_fn(|i| ((u16::from(t[i]) * u16::from(c[i]) + 127) / 255) as u8);
            if src != [0; 4] {
                blend_u8(d, src);
            }
        }
    }
}

fn edge(a: [f32; 2], b: [f32; 2], p: [f32; 2]) -> f32 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

/// Whether a pixel centre lying exactly on the edge a→b belongs to this triangle. Of two
/// triangles sharing an edge (traversed in opposite directions) exactly one takes it, so a
/// seam is neither blended twice nor left out.
fn owns_edge(a: [f32; 2], b: [f32; 2]) -> bool {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    dy > 0.0 || (dy == 0.0 && dx < 0.0)
}

fn blend(dst: &mut [u8; 4], src: [f32; 4]) {
    let keep = 1.0 - src[3];
    for i in 0..4 {
        // `as u8` saturates (and maps NaN to 0); + 0.5 rounds the non-negative value.
        dst[i] = (src[i] * 255.0 + dst[i] as f32 * keep + 0.5) as u8;
    }
}

/// `floor` without a libm call (x86-64's baseline has no rounding instruction), for the
/// coordinates of one frame: far inside `i32`; NaN gives 0, huge values saturate.
fn floor(v: f32) -> f32 {
    let t = v as i32 as f32;
    if t > v { t - 1.0 } else { t }
}

/// `ceil`, likewise.
fn ceil(v: f32) -> f32 {
    -floor(-v)
}

/// `src` over `dst`, premultiplied, in integers: the fill of most pixels of a frame.
fn blend_u8(dst: &mut [u8; 4], src: [u8; 4]) {
    let keep = 255 - u16::from(src[3]);
    for i in 0..4 {
        let v = u16::from(src[i]) + (u16::from(dst[i]) * keep + 127) / 255;
        dst[i] = v.min(255) as u8;
    }
}

/// An edge as a function of x along one row: `w(x) = a * x + b`, inside where `w >= 0`
/// (or `w == 0` when the triangle owns the edge).
#[derive(Clone, Copy)]
struct RowEdge {
    a: f32,
    b: f32,
    owns: bool,
}

impl RowEdge {
    fn inside(self, w: f32) -> bool {
        w > 0.0 || (w == 0.0 && self.owns)
    }
}

fn triangle(canvas: &mut Canvas, clip: Clip, v: [&Vertex; 3], ppp: f32, texture: &Texture) {
    let Some(t) = Triangle::set_up(clip, v, ppp, texture) else {
        return;
    };
    for y in t.y0..t.y1 {
        t.row(canvas, y);
    }
}

/// One triangle ready for scan conversion: corners in pixels, wound so the area is
/// positive, its box clipped, and what stays the same over all its pixels worked out once.
struct Triangle<'t> {
    edges: [([f32; 2], [f32; 2]); 3],
    /// 1 / the doubled area: turns edge values into barycentric weights.
    inv: f32,
    colors: [[f32; 4]; 3],
    uvs: [[f32; 2]; 3],
    same_color: bool,
    /// Texels larger than pixels: magnification (egui's text is drawn about 1:1).
    magnified: bool,
    constant_tex: Option<[f32; 4]>,
    /// One colour for the whole triangle: blended in integers, opaque ones just stored.
    constant: Option<[u8; 4]>,
    /// Text: one colour, a texture drawn one texel to one pixel with no rotation.
    one_to_one: bool,
    color_u8: [u8; 4],
    texture: &'t Texture,
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

/// The pixels of one row a triangle may cover: `sx0..sx1` to test, of which `ix0..ix1`
/// are surely inside (every edge positive with a margin).
struct RowSpan {
    sx0: usize,
    sx1: usize,
    ix0: usize,
    ix1: usize,
}

impl<'t> Triangle<'t> {
    /// `None` for a triangle with nothing to draw: degenerate, outside the clip, or of a
    /// fully transparent single colour.
    fn set_up(clip: Clip, v: [&Vertex; 3], ppp: f32, texture: &'t Texture) -> Option<Self> {
        let mut p = v.map(|v| [v.pos.x * ppp, v.pos.y * ppp]);
        let mut v = v;
        let mut area = edge(p[0], p[1], p[2]);
        if !area.is_finite() || area.abs() < 1e-6 {
            return None;
        }
        if area < 0.0 {
            p.swap(1, 2);
            v.swap(1, 2);
            area = -area;
        }
        let min_x = p.iter().map(|q| q[0]).fold(f32::INFINITY, f32::min);
        let max_x = p.iter().map(|q| q[0]).fold(f32::NEG_INFINITY, f32::max);
        let min_y = p.iter().map(|q| q[1]).fold(f32::INFINITY, f32::min);
        let max_y = p.iter().map(|q| q[1]).fold(f32::NEG_INFINITY, f32::max);
        // Pixels whose centre (x + 0.5, y + 0.5) can lie inside.
        let x0 = ((min_x - 0.5).ceil().max(0.0) as usize).max(clip.x0);
        let x1 = (((max_x - 0.5).floor() + 1.0).max(0.0) as usize).min(clip.x1);
        let y0 = ((min_y - 0.5).ceil().max(0.0) as usize).max(clip.y0);
        let y1 = (((max_y - 0.5).floor() + 1.0).max(0.0) as usize).min(clip.y1);
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let colors = v.map(|v| v.color.to_array().map(|c| c as f32 / 255.0));
        let uvs = v.map(|v| [v.uv.x, v.uv.y]);
        let same_color = colors[0] == colors[1] && colors[1] == colors[2];
        let same_uv = uvs[0] == uvs[1] && uvs[1] == uvs[2];
        let magnified = {
            let du = (uvs[1][0] - uvs[0][0]).abs() * texture.width as f32;
            let dx = (p[1][0] - p[0][0]).abs();
            du <= dx + 1e-3
        };
        let constant_tex = same_uv.then(|| texture.sample(uvs[0][0], uvs[0][1], magnified));
        let constant: Option<[u8; 4]> = match (same_color, constant_tex) {
            (true, Some(t)) => Some(std::array::from_fn(|i| {
                (colors[0][i] * t[i] * 255.0).round().clamp(0.0, 255.0) as u8
            })),
            _ => None,
        };
        if constant.is_some_and(|c| c == [0; 4]) {
            return None;
        }
        let mut t = Triangle {
            edges: [(p[1], p[2]), (p[2], p[0]), (p[0], p[1])],
            inv: 1.0 / area,
            colors,
            uvs,
            same_color,
            magnified,
            constant_tex,
            constant,
            one_to_one: false,
            color_u8: v[0].color.to_array(),
            texture,
            x0,
            x1,
            y0,
            y1,
        };
        t.one_to_one = t.is_one_to_one();
        Some(t)
    }

    /// egui puts glyphs on whole pixels: sampling at pixel centres then lands on texel
    /// centres, where bilinear filtering is the texel itself, read directly in integers.
    fn is_one_to_one(&self) -> bool {
        let (tw, th) = (self.texture.width as f32, self.texture.height as f32);
        let grad = |k: usize, along_x: bool| -> f32 {
            self.edges
                .iter()
                .zip([0usize, 1, 2])
                .map(|((a, b), i)| {
                    let d = if along_x { -(b[1] - a[1]) } else { b[0] - a[0] };
                    self.uvs[i][k] * d * self.inv
                })
                .sum()
        };
        self.same_color
            && self.constant.is_none()
            && (grad(0, true) * tw - 1.0).abs() < 1e-4
            && (grad(1, false) * th - 1.0).abs() < 1e-4
            && (grad(0, false) * tw).abs() < 1e-4
            && (grad(1, true) * th).abs() < 1e-4
    }

    /// Draws row `y`: a one-colour triangle fills the pixels surely inside at once and
    /// tests only its boundary; any other tests every pixel of the span.
    fn row(&self, canvas: &mut Canvas, y: usize) {
        let py = y as f32 + 0.5;
        // Along this row each edge is linear in x: its constraint bounds x on one side.
        let row = self.edges.map(|(a, b)| RowEdge {
            a: -(b[1] - a[1]),
            b: (b[0] - a[0]) * (py - a[1]) + (b[1] - a[1]) * a[0],
            owns: owns_edge(a, b),
        });
        let Some(span) = self.span(&row) else {
            return;
        };
        let line = &mut canvas.pixels[y * canvas.width..(y + 1) * canvas.width];
        if let Some(c) = self.constant
            && span.ix0 < span.ix1
        {
            if c[3] == 255 {
                line[span.ix0..span.ix1].fill(c);
            } else {
                line[span.ix0..span.ix1]
                    .iter_mut()
                    .for_each(|d| blend_u8(d, c));
            }
        }
        // Filled above: only the boundary pixels are left for a one-colour triangle.
        let ranges = if self.constant.is_some() {
            [span.sx0..span.ix0, span.ix1..span.sx1]
        } else {
            [span.sx0..span.sx1, 0..0]
        };
        // The texel under this row's first pixel, when the one-to-one path applies.
        let mut texel_row: Option<(usize, isize)> = None;
        for x in ranges.into_iter().flatten() {
            let cx = x as f32 + 0.5;
            let w = row.map(|e| e.a * cx + e.b);
            if !(row[0].inside(w[0]) && row[1].inside(w[1]) && row[2].inside(w[2])) {
                continue;
            }
            match self.constant {
                Some(c) if c[3] == 255 => line[x] = c,
                Some(c) => blend_u8(&mut line[x], c),
                None => self.shade(&mut line[x], x, w, &mut texel_row),
            }
        }
    }

    /// The span of one row, from its three edge functions; `None` when the row misses.
    fn span(&self, row: &[RowEdge; 3]) -> Option<RowSpan> {
        let (x0, x1) = (self.x0 as f32, self.x1 as f32);
        let (mut lo, mut hi) = (x0, x1);
        let (mut in_lo, mut in_hi) = (x0, x1);
        const MARGIN: f32 = 0.01;
        for e in row {
            if e.a > 0.0 {
                let bound = -e.b / e.a - 0.5;
                lo = lo.max(bound);
                in_lo = in_lo.max(ceil(bound + MARGIN));
            } else if e.a < 0.0 {
                let bound = -e.b / e.a - 0.5;
                hi = hi.min(bound + 1.0);
                in_hi = in_hi.min(floor(bound - MARGIN) + 1.0);
            } else if e.b < 0.0 {
                hi = lo;
                in_hi = in_lo;
            } else if e.b <= MARGIN {
                in_hi = in_lo;
            }
        }
        // One pixel of slack on each side; the exact test decides the boundary.
        let sx0 = ((floor(lo) - 1.0).max(x0)) as usize;
        let sx1 = ((ceil(hi) + 1.0).min(x1)) as usize;
        if sx0 >= sx1 {
            return None;
        }
        let (ix0, ix1) = if in_lo.is_finite() && in_hi.is_finite() && in_lo < in_hi {
            (
                (in_lo as usize).clamp(sx0, sx1),
                (in_hi as usize).clamp(sx0, sx1),
            )
        } else {
            (sx0, sx0)
        };
        Some(RowSpan { sx0, sx1, ix0, ix1 })
    }

    /// One inside pixel of a textured or many-coloured triangle, with edge values `w`.
    fn shade(
        &self,
        dst: &mut [u8; 4],
        x: usize,
        w: [f32; 3],
        texel_row: &mut Option<(usize, isize)>,
    ) {
        let b = w.map(|w| w * self.inv);
        let lerp = |a: f32, bb: f32, c: f32| a * b[0] + bb * b[1] + c * b[2];
        let uvs = &self.uvs;
        if self.one_to_one
            && self.texel_direct(dst, x, texel_row, || {
                (
                    lerp(uvs[0][0], uvs[1][0], uvs[2][0]),
                    lerp(uvs[0][1], uvs[1][1], uvs[2][1]),
                )
            })
        {
            return;
        }
        let tex = self.constant_tex.unwrap_or_else(|| {
            self.texture.sample(
                lerp(uvs[0][0], uvs[1][0], uvs[2][0]),
                lerp(uvs[0][1], uvs[1][1], uvs[2][1]),
                self.magnified,
            )
        });
        let colors = &self.colors;
        let src: [f32; 4] = if self.same_color {
            std::array::from_fn(|i| colors[0][i] * tex[i])
        } else {
            std::array::from_fn(|i| lerp(colors[0][i], colors[1][i], colors[2][i]) * tex[i])
        };
        if src[3] > 0.0 || src[0] > 0.0 || src[1] > 0.0 || src[2] > 0.0 {
            blend(dst, src);
        }
    }

    /// The one-to-one path: the texel under pixel `x`, found once per row from the first
    /// pixel's texture coordinates (`uv`). False when it does not apply here.
    fn texel_direct(
        &self,
        dst: &mut [u8; 4],
        x: usize,
        texel_row: &mut Option<(usize, isize)>,
        uv: impl FnOnce() -> (f32, f32),
    ) -> bool {
        let texture = self.texture;
        if texel_row.is_none() {
            let (u, v) = uv();
            let tx = u * texture.width as f32 - 0.5;
            let ty = v * texture.height as f32 - 0.5;
            let (rx, ry) = (floor(tx + 0.5), floor(ty + 0.5));
            if (tx - rx).abs() < 1e-3
                && (ty - ry).abs() < 1e-3
                && rx >= 0.0
                && ry >= 0.0
                && ry < texture.height as f32
            {
                *texel_row = Some((ry as usize * texture.width, rx as isize - x as isize));
            }
        }
        let Some((row_start, dx)) = *texel_row else {
            return false;
        };
        let tx = x as isize + dx;
        if tx < 0 || tx as usize >= texture.width {
            return false;
        }
        let t = texture.texels[row_start + tx as usize];
        let c = self.color_u8;
        let src: [u8; 4] =
            std::array::from_fn(|i| ((u16::from(t[i]) * u16::from(c[i]) + 127) / 255) as u8);
        if src != [0; 4] {
            blend_u8(dst, src);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::epaint::{Mesh, Vertex};
    use egui::{Color32, ColorImage, Pos2, Rect, pos2};

    fn white_texture(r: &mut Rasterizer) {
        let mut delta = TexturesDelta::default();
        delta.set.insert(
            TextureId::Managed(0),
            std::iter::once(egui::epaint::ImageDelta::full(
                ColorImage::new([2, 2], vec![Color32::WHITE; 4]),
                TextureOptions::LINEAR,
            ))
            .collect(),
        );
        r.set_textures(&mut delta);
    }

    fn rect_mesh(rect: Rect, color: Color32) -> Mesh {
        let mut m = Mesh::default();
        m.add_colored_rect(rect, color);
        m
    }

    fn prim(mesh: Mesh, clip: Rect) -> ClippedPrimitive {
        ClippedPrimitive {
            clip_rect: clip,
            primitive: Primitive::Mesh(mesh),
        }
    }

    fn full() -> Rect {
        Rect::from_min_max(Pos2::ZERO, pos2(1000.0, 1000.0))
    }

    #[test]
    fn a_rectangle_covers_exactly_its_pixels() {
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        let mut c = Canvas::new(10, 10);
        let rect = Rect::from_min_max(pos2(2.0, 3.0), pos2(6.0, 8.0));
        r.paint(&mut c, &[prim(rect_mesh(rect, Color32::RED), full())], 1.0);
        for y in 0..10 {
            for x in 0..10 {
                let inside = (2..6).contains(&x) && (3..8).contains(&y);
                let want = if inside {
                    [255, 0, 0, 255]
                } else {
                    [0, 0, 0, 255]
                };
                assert_eq!(c.get(x, y), want, "({x}, {y})");
            }
        }
    }

    #[test]
    fn the_shared_diagonal_is_blended_once() {
        // A half-transparent quad is two triangles: a pixel on their common edge drawn twice
        // would come out darker than the rest.
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        let mut c = Canvas::new(8, 8);
        let rect = Rect::from_min_max(pos2(0.0, 0.0), pos2(8.0, 8.0));
        let half = Color32::from_rgba_premultiplied(0, 0, 128, 128);
        r.paint(&mut c, &[prim(rect_mesh(rect, half), full())], 1.0);
        let first = c.get(0, 0);
        assert!(c.pixels.iter().all(|p| *p == first), "{:?}", c.pixels);
        assert_eq!(first, [0, 0, 128, 255]);
    }

    #[test]
    fn the_clip_rectangle_is_respected_and_scaled() {
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        let mut c = Canvas::new(20, 20);
        let rect = Rect::from_min_max(pos2(0.0, 0.0), pos2(10.0, 10.0));
        let clip = Rect::from_min_max(pos2(0.0, 0.0), pos2(4.0, 3.0));
        // Two pixels per point: the clip is 8x6 pixels.
        r.paint(&mut c, &[prim(rect_mesh(rect, Color32::GREEN), clip)], 2.0);
        let lit = c.pixels.iter().filter(|p| p[1] == 255).count();
        assert_eq!(lit, 8 * 6);
        assert_eq!(c.get(7, 5)[1], 255);
        assert_eq!(c.get(8, 5)[1], 0);
    }

    #[test]
    fn textures_are_sampled_and_patched() {
        let mut r = Rasterizer::default();
        let mut delta = TexturesDelta::default();
        let id = TextureId::Managed(7);
        let pixels = vec![Color32::RED, Color32::BLUE, Color32::GREEN, Color32::WHITE];
        delta.set.insert(
            id,
            std::iter::once(egui::epaint::ImageDelta::full(
                ColorImage::new([2, 2], pixels),
                TextureOptions::NEAREST,
            ))
            .collect(),
        );
        r.set_textures(&mut delta);
        let draw = |r: &Rasterizer| {
            let mut c = Canvas::new(4, 4);
            let mut m = Mesh::with_texture(id);
            m.add_rect_with_uv(
                Rect::from_min_max(pos2(0.0, 0.0), pos2(4.0, 4.0)),
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
            r.paint(&mut c, &[prim(m, full())], 1.0);
            c
        };
        let c = draw(&r);
        assert_eq!(c.get(0, 0), [255, 0, 0, 255]);
        assert_eq!(c.get(3, 0), [0, 0, 255, 255]);
        assert_eq!(c.get(0, 3), [0, 255, 0, 255]);
        assert_eq!(c.get(3, 3), [255, 255, 255, 255]);
        // A patch replaces one texel.
        let mut patch = TexturesDelta::default();
        patch.set.insert(
            id,
            std::iter::once(egui::epaint::ImageDelta::partial(
                [1, 1],
                ColorImage::new([1, 1], vec![Color32::BLACK]),
                TextureOptions::NEAREST,
            ))
            .collect(),
        );
        r.set_textures(&mut patch);
        assert_eq!(draw(&r).get(3, 3), [0, 0, 0, 255]);
        // A freed texture draws nothing (no panic).
        let mut free = TexturesDelta::default();
        free.free.insert(id);
        r.free_textures(free);
        assert_eq!(draw(&r).get(3, 3), [0, 0, 0, 255]);
    }

    #[test]
    fn vertex_colours_are_interpolated() {
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        let mut c = Canvas::new(11, 1);
        let mut m = Mesh::default();
        let v = |x: f32, y: f32, color| Vertex {
            pos: pos2(x, y),
            uv: egui::epaint::WHITE_UV,
            color,
        };
        m.vertices = vec![
            v(0.0, 0.0, Color32::BLACK),
            v(11.0, 0.0, Color32::WHITE),
            v(11.0, 1.0, Color32::WHITE),
            v(0.0, 1.0, Color32::BLACK),
        ];
        m.indices = vec![0, 1, 2, 0, 2, 3];
        r.paint(&mut c, &[prim(m, full())], 1.0);
        let reds: Vec<u8> = (0..11).map(|x| c.get(x, 0)[0]).collect();
        assert!(reds.windows(2).all(|w| w[0] < w[1]), "{reds:?}");
        assert!(reds[0] < 20 && reds[10] > 235, "{reds:?}");
    }

    /// The reference: every pixel of the canvas tested against the three edges.
    fn reference(c: &mut Canvas, tri: [[f32; 2]; 3], color: [u8; 4]) {
        let (mut p, area) = (tri, edge(tri[0], tri[1], tri[2]));
        if area < 0.0 {
            p.swap(1, 2);
        }
        let edges = [(p[1], p[2]), (p[2], p[0]), (p[0], p[1])];
        for y in 0..c.height {
            for x in 0..c.width {
                let q = [x as f32 + 0.5, y as f32 + 0.5];
                let inside = edges.iter().all(|(a, b)| {
                    let w = edge(*a, *b, q);
                    w > 0.0 || (w == 0.0 && owns_edge(*a, *b))
                });
                if inside {
                    blend_u8(&mut c.pixels[y * c.width + x], color);
                }
            }
        }
    }

    #[test]
    fn spans_cover_exactly_the_pixels_a_per_pixel_test_covers() {
        // Deterministic pseudo-random triangles, opaque and translucent, some with edges on
        // pixel centres.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        for round in 0..300 {
            let mut coord = |max: u64| {
                let v = (next() % (max * 4)) as f32 / 4.0 - 4.0;
                if round % 3 == 0 { v.round() + 0.5 } else { v }
            };
            let tri = [
                [coord(48), coord(40)],
                [coord(48), coord(40)],
                [coord(48), coord(40)],
            ];
            if edge(tri[0], tri[1], tri[2]).abs() < 1e-6 {
                continue;
            }
            let alpha = if round % 2 == 0 { 255 } else { 100 };
            let color = Color32::from_rgba_premultiplied(alpha / 2, 30, alpha, alpha);
            let mut m = Mesh::default();
            for q in tri {
                m.vertices.push(Vertex {
                    pos: pos2(q[0], q[1]),
                    uv: egui::epaint::WHITE_UV,
                    color,
                });
            }
            m.indices = vec![0, 1, 2];
            let mut fast = Canvas::new(40, 32);
            r.paint(&mut fast, &[prim(m, full())], 1.0);
            let mut slow = Canvas::new(40, 32);
            reference(&mut slow, tri, color.to_array());
            assert_eq!(fast, slow, "round {round}: {tri:?}");
        }
    }

    #[test]
    fn degenerate_and_hostile_meshes_are_skipped() {
        let mut r = Rasterizer::default();
        white_texture(&mut r);
        let mut c = Canvas::new(4, 4);
        let mut m = Mesh::default();
        let v = |x: f32, y: f32| Vertex {
            pos: pos2(x, y),
            uv: egui::epaint::WHITE_UV,
            color: Color32::WHITE,
        };
        m.vertices = vec![v(0.0, 0.0), v(f32::NAN, 1.0), v(1e30, -1e30), v(2.0, 2.0)];
        // An index past the vertices, a NaN vertex, a line.
        m.indices = vec![0, 1, 2, 0, 3, 9, 0, 3, 3];
        r.paint(&mut c, &[prim(m, full())], 1.0);
    }

    /// A small deterministic generator (xorshift64) for the randomised tests.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// 400 glyph-like rectangles at whole, half and odd pixel positions, sometimes running
    /// past the texture's edge, sometimes scaled or flipped (only looking like glyphs).
    fn glyph_like_mesh(next: &mut dyn FnMut() -> u64, tw: usize, th: usize) -> Mesh {
        let mut mesh = Mesh::default();
        for _ in 0..400 {
            let mut pick = |n: u64| (next() % n) as f32;
            let (w, h) = (1.0 + pick(12), 1.0 + pick(14));
            let x = pick(90) - 5.0 + [0.0, 0.0, 0.0, 0.0, 0.5, 0.25][pick(6) as usize];
            let y = pick(70) - 5.0 + [0.0, 0.0, 0.0, 0.0, 0.5, 0.3][pick(6) as usize];
            let u = pick(tw as u64 - 10) + if pick(8) == 0.0 { 8.0 } else { 0.0 };
            let v = pick(th as u64 - 12) + if pick(8) == 0.0 { 10.0 } else { 0.0 };
            let (su, sv) = match pick(6) as u8 {
                0 => (w * 1.5, h),
                1 => (-w, h),
                _ => (w, h),
            };
            let uv = Rect::from_min_max(
                pos2(u / tw as f32, v / th as f32),
                pos2((u + su) / tw as f32, (v + sv) / th as f32),
            );
            let channel = |next: &mut dyn FnMut() -> u64| (next() % 256) as u8 / 2;
            let color = Color32::from_rgba_premultiplied(
                channel(next),
                channel(next),
                channel(next),
                128 + (next() % 128) as u8,
            );
            mesh.add_rect_with_uv(Rect::from_min_size(pos2(x, y), egui::vec2(w, h)), uv, color);
        }
        mesh.texture_id = TextureId::Managed(7);
        mesh
    }

    /// `mesh` drawn on a partly clipped 100x80 canvas, with or without the glyph fast path.
    fn draw_glyphs(quads: bool, mesh: &Mesh, texture: ColorImage) -> Canvas {
        let mut r = Rasterizer {
            quads,
            ..Default::default()
        };
        let mut delta = TexturesDelta::default();
        delta.set.insert(
            TextureId::Managed(7),
            std::iter::once(egui::epaint::ImageDelta::full(
                texture,
                TextureOptions::LINEAR,
            ))
            .collect(),
        );
        r.set_textures(&mut delta);
        let mut c = Canvas::new(100, 80);
        let clip = Rect::from_min_max(pos2(3.0, 2.0), pos2(95.0, 77.0));
        r.paint(&mut c, &[prim(mesh.clone(), clip)], 1.0);
        c
    }

    #[test]
    fn glyph_rectangles_copy_the_same_pixels_the_triangles_draw() {
        // The fast path for text against the general one: every pixel the same.
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let (tw, th) = (64usize, 32usize);
        let texels: Vec<Color32> = (0..tw * th)
            .map(|_| {
                let a = (next() % 256) as u8;
                let v = (next() % 256) as u8;
                Color32::from_rgba_premultiplied(v.min(a), v.min(a) / 2, a / 3, a)
            })
            .collect();
        let mesh = glyph_like_mesh(&mut next, tw, th);
        let image = || ColorImage::new([tw, th], texels.clone());
        let (fast, slow) = (
            draw_glyphs(true, &mesh, image()),
            draw_glyphs(false, &mesh, image()),
        );
        let differ = fast
            .pixels
            .iter()
            .zip(&slow.pixels)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differ, 0, "{differ} pixels differ between the two paths");
        // And the fast path was taken, for most rectangles but not all.
        let texture = Texture {
            width: tw,
            height: th,
            texels: texels.iter().map(|c| c.to_array()).collect(),
            options: TextureOptions::LINEAR,
        };
        let fast_ones = mesh
            .indices
            .chunks_exact(6)
            .filter(|six| glyph_quad(&mesh, six, 1.0, &texture).is_some())
            .count();
        assert!(
            (100..380).contains(&fast_ones),
            "{fast_ones} of 400 took the fast path"
        );
    }
}
