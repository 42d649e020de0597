//! Printable A4 PDF reports: headings, paragraphs, tables and vector charts drawn with
//! plotters, written with `pdf-writer` using the standard Helvetica fonts (no embedding).

use pdf_writer::types::LineJoinStyle;
use pdf_writer::{Content, Name, Pdf, Ref, Str, TextStr};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};
use std::convert::Infallible;
use std::ops::Range;

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 20.0 * MM;
const TEXT_W: f32 = PAGE_W - 2.0 * LEFT;
const TOP: f32 = PAGE_H - 20.0 * MM;
const BOTTOM: f32 = 18.0 * MM;
const FOOTER_Y: f32 = BOTTOM / 2.0 - 3.0;
/// Space a heading keeps with what follows it, so it never ends a page alone.
const KEEP_WITH_NEXT: f32 = 60.0;
/// Helvetica's cap height and descender, as fractions of the font size.
const CAP: f32 = 0.718;
const DESCENT: f32 = 0.207;

const BODY: Font = Font::new(false, 10.0);
const BODY_LEADING: f32 = 13.0;
const CAPTION: Font = Font::new(true, 10.0);
const CELL: Font = Font::new(false, 9.0);
const HEAD: Font = Font::new(true, 9.0);
const FOOT: Font = Font::new(false, 8.0);
const CELL_LEADING: f32 = 11.5;
const PAD_X: f32 = 4.0;
const PAD_Y: f32 = 3.0;

/// A plotters drawing backend that writes into a PDF page content stream.
///
/// It draws in the chart's pixel space; [`PdfDocument::chart`] sets the page transform
/// that flips y and scales the pixels onto the text width, so everything stays vector.
pub struct PdfBackend<'a> {
    content: &'a mut Content,
    size: (u32, u32),
}

impl PdfBackend<'_> {
    /// Sets the fill or the stroke colour and width; false when there is nothing to paint.
    fn paint<S: BackendStyle>(&mut self, style: &S, fill: bool) -> bool {
        let Some([r, g, b]) = rgb(style.color()) else {
            return false;
        };
        if fill {
            self.content.set_fill_rgb(r, g, b);
        } else {
            let width = style.stroke_width() as f32;
            self.content.set_stroke_rgb(r, g, b).set_line_width(width);
        }
        true
    }

    fn end(&mut self, fill: bool) {
        if fill {
            self.content.fill_nonzero();
        } else {
            self.content.stroke();
        }
    }

    fn path(&mut self, points: impl IntoIterator<Item = Px>) -> bool {
        let mut points = points.into_iter();
        let Some((x, y)) = points.next() else {
            return false;
        };
        self.content.move_to(x as f32, y as f32);
        for (x, y) in points {
            self.content.line_to(x as f32, y as f32);
        }
        true
    }
}

/// The colour as PDF RGB, blended over white paper by its alpha; `None` when invisible.
fn rgb(color: BackendColor) -> Option<[f32; 3]> {
    let alpha = color.alpha.clamp(0.0, 1.0) as f32;
    let (r, g, b) = color.rgb;
    let blend = |c: u8| 1.0 - alpha * (1.0 - f32::from(c) / 255.0);
    (alpha > 0.0).then(|| [blend(r), blend(g), blend(b)])
}

type Res<T> = Result<T, DrawingErrorKind<Infallible>>;
/// A point in the chart's pixel space (x right, y down).
type Px = BackendCoord;

impl DrawingBackend for PdfBackend<'_> {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Res<()> {
        Ok(())
    }

    fn present(&mut self) -> Res<()> {
        Ok(())
    }

    fn draw_pixel(&mut self, (x, y): Px, color: BackendColor) -> Res<()> {
        if self.paint(&color, true) {
            self.content.rect(x as f32, y as f32, 1.0, 1.0);
            self.end(true);
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(&mut self, a: Px, b: Px, s: &S) -> Res<()> {
        if self.paint(s, false) && self.path([a, b]) {
            self.end(false);
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(&mut self, a: Px, b: Px, s: &S, fill: bool) -> Res<()> {
        let ((x0, y0), (x1, y1)) = (a, b);
        if self.paint(s, fill) {
            let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
            self.content.rect(x0 as f32, y0 as f32, w, h);
            self.end(fill);
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = Px>>(&mut self, p: I, s: &S) -> Res<()> {
        if self.paint(s, false) && self.path(p) {
            self.end(false);
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = Px>>(
        &mut self,
        p: I,
        s: &S,
    ) -> Res<()> {
        if self.paint(s, true) && self.path(p) {
            self.content.close_path();
            self.end(true);
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(&mut self, c: Px, r: u32, s: &S, fill: bool) -> Res<()> {
        if self.paint(s, fill) {
            let (x, y, r) = (c.0 as f32, c.1 as f32, r as f32);
            let k = 0.552_284_8 * r;
            self.content
                .move_to(x + r, y)
                .cubic_to(x + r, y + k, x + k, y + r, x, y + r)
                .cubic_to(x - k, y + r, x - r, y + k, x - r, y)
                .cubic_to(x - r, y - k, x - k, y - r, x, y - r)
                .cubic_to(x + k, y - r, x + r, y - k, x + r, y)
                .close_path();
            self.end(fill);
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(&mut self, s: &str, style: &T, at: Px) -> Res<()> {
        let Some([r, g, b]) = rgb(style.color()) else {
            return Ok(());
        };
        let font = Font::of(style);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -font.width(s) / 2.0,
            HPos::Right => -font.width(s),
        };
        let dy = match anchor.v_pos {
            VPos::Top => CAP * font.size,
            VPos::Center => CAP * font.size / 2.0,
            VPos::Bottom => -DESCENT * font.size,
        };
        // Offsets in the text's own frame (y down) turned like plotters turns the glyphs.
        let turn = style.transform();
        let t = |x: f32, y: f32| match turn {
            FontTransform::None => (x, y),
            FontTransform::Rotate90 => (-y, x),
            FontTransform::Rotate180 => (-x, -y),
            FontTransform::Rotate270 => (y, -x),
        };
        let ((ax, ay), (ux, uy), (ox, oy)) = (t(1.0, 0.0), t(0.0, -1.0), t(dx, dy));
        let origin = (at.0 as f32 + ox, at.1 as f32 + oy);
        self.content
            .set_fill_rgb(r, g, b)
            .begin_text()
            .set_font(font.name(), font.size)
            .set_text_matrix([ax, ay, ux, uy, origin.0, origin.1])
            .show(Str(&winansi(s)))
            .end_text();
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(&self, s: &str, style: &T) -> Res<(u32, u32)> {
        let font = Font::of(style);
        Ok((font.width(s).ceil() as u32, font.size.ceil() as u32))
    }
}

/// A4 portrait document whose blocks flow across pages.
///
/// Blocks are laid out top to bottom; a block that does not fit starts a new page.
/// [`PdfDocument::finish`] adds the footers and returns the file's bytes.
pub struct PdfDocument {
    title: String,
    lang: String,
    done: Vec<Content>,
    page: Content,
    /// Top of the free space on the current page, in points from the bottom.
    y: f32,
    /// Nothing has been drawn on the current page yet.
    fresh: bool,
}

/// The laid-out columns of a table being written.
struct Grid {
    widths: Vec<f32>,
    /// Columns of numbers, which are right-aligned.
    num: Vec<bool>,
    head: Vec<Vec<String>>,
}

impl Grid {
    fn head_height(&self) -> f32 {
        let lines = line_count(&self.head);
        self.head.first().map_or(0.0, |_| row_height(lines))
    }
}

impl PdfDocument {
    /// Starts a document; the title goes into the document info and every footer, the
    /// language tag (like "de-DE") into the catalog so readers and screen readers know it.
    pub fn new(title: &str, lang: &str) -> Self {
        Self {
            title: title.to_string(),
            lang: lang.to_string(),
            done: Vec::new(),
            page: Content::new(),
            y: TOP,
            fresh: true,
        }
    }

    /// Starts a new page unless `points` of height still fit: a caller keeps a heading, its
    /// sentence and its chart on one page.
    pub fn keep_together(&mut self, points: f32) {
        self.ensure(points);
    }

    /// The height a chart of this size takes on the page, in points.
    pub fn chart_height(width_px: u32, height_px: u32) -> f32 {
        let (w, h) = (width_px.max(1), height_px.max(1));
        h as f32 * (TEXT_W / w as f32).min((TOP - BOTTOM) / h as f32)
    }

    /// Adds a bold heading (1 = 18 pt, 2 = 14 pt, 3 = 11 pt), kept with what follows it.
    pub fn heading(&mut self, level: u8, text: &str) {
        let size = [18.0, 18.0, 14.0, 11.0][usize::from(level.min(3))];
        let font = Font::new(true, size);
        let lines = wrap(text, font, TEXT_W);
        self.gap(size * 0.8);
        self.ensure(size * 1.25 * lines.len() as f32 + KEEP_WITH_NEXT);
        self.lines(&lines, font, size * 1.25);
        self.gap(size * 0.35);
    }

    /// Adds a paragraph of 10 pt Helvetica, word-wrapped to the text width; `\n` breaks lines.
    pub fn paragraph(&mut self, text: &str) {
        self.lines(&wrap(text, BODY, TEXT_W), BODY, BODY_LEADING);
        self.gap(6.0);
    }

    /// Adds a table with a bold caption and a grey header row that is repeated on every
    /// page the table continues on; columns are as wide as their content allows.
    pub fn table(&mut self, caption: &str, headers: &[String], rows: &[Vec<String>]) {
        let caption = wrap(caption, CAPTION, TEXT_W);
        let n = rows.iter().map(Vec::len).fold(headers.len(), usize::max);
        self.gap(4.0);
        if n == 0 {
            self.lines(&caption, CAPTION, BODY_LEADING);
            self.gap(6.0);
            return;
        }
        let widths = column_widths(n, headers, rows);
        let wrap_row = |row: &[String], font: Font| -> Vec<Vec<String>> {
            (0..n)
                .map(|i| wrap(cell(row, i), font, widths[i] - 2.0 * PAD_X))
                .collect()
        };
        let has_head = headers.iter().any(|h| !h.trim().is_empty());
        let head = if has_head {
            wrap_row(headers, HEAD)
        } else {
            Vec::new()
        };
        let body: Vec<_> = rows.iter().map(|r| wrap_row(r, CELL)).collect();
        let num = (0..n)
            .map(|i| numeric(rows.iter().map(|r| cell(r, i))))
            .collect();
        let grid = Grid { widths, num, head };
        let first = body
            .first()
            .map_or(0.0, |r| row_height(line_count(r).min(3)));
        self.ensure(caption.len() as f32 * BODY_LEADING + 2.0 + grid.head_height() + first);
        self.lines(&caption, CAPTION, BODY_LEADING);
        self.advance(2.0);
        self.grid_head(&grid);
        let mut header_only = true;
        for row in &body {
            self.grid_row(&grid, row, &mut header_only);
        }
        self.gap(8.0);
    }

    /// Draws a chart made in a `width_px` × `height_px` pixel space, scaled to the text
    /// width (or down to the page height), on a new page when it does not fit.
    pub fn chart(
        &mut self,
        width_px: u32,
        height_px: u32,
        draw: impl FnOnce(DrawingArea<PdfBackend<'_>, Shift>),
    ) {
        let (w, h) = (width_px.max(1), height_px.max(1));
        let scale = (TEXT_W / w as f32).min((TOP - BOTTOM) / h as f32);
        let height = h as f32 * scale;
        self.gap(4.0);
        self.ensure(height);
        let top = self.y;
        self.page
            .save_state()
            .transform([scale, 0.0, 0.0, -scale, LEFT, top])
            .rect(0.0, 0.0, w as f32, h as f32)
            .clip_nonzero()
            .end_path()
            .set_line_join(LineJoinStyle::RoundJoin);
        let (content, size) = (&mut self.page, (w, h));
        draw(PdfBackend { content, size }.into_drawing_area());
        self.page.restore_state();
        self.advance(height);
        self.gap(8.0);
    }

    /// Adds the footer ("Seite N von M" right, the title left, 8 pt grey) to every page
    /// and returns the finished PDF file.
    pub fn finish(mut self) -> Vec<u8> {
        self.done.push(self.page);
        let count = self.done.len();
        let [catalog, tree, info, regular, bold] = [1, 2, 3, 4, 5].map(Ref::new);
        let page_ids: Vec<Ref> = (0..count).map(|i| Ref::new(6 + 2 * i as i32)).collect();
        let mut pdf = Pdf::new();
        // An empty /Lang means "language unknown" (ISO 32000-1, 14.9.2.1).
        pdf.catalog(catalog).pages(tree).lang(TextStr(&self.lang));
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Kennzahl"));
        for (id, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
            pdf.type1_font(id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(count as i32);
        for (i, (mut content, id)) in self.done.into_iter().zip(page_ids).enumerate() {
            let label = format!("Seite {} von {count}", i + 1);
            let label_w = FOOT.width(&label);
            let title = truncate(&self.title, FOOT, TEXT_W - label_w - 12.0);
            show(&mut content, LEFT, FOOTER_Y, FOOT, 0.45, &title);
            let x = PAGE_W - LEFT - label_w;
            show(&mut content, x, FOOTER_Y, FOOT, 0.45, &label);
            let content_id = Ref::new(id.get() + 1);
            let mut page = pdf.page(id);
            page.parent(tree)
                .media_box(pdf_writer::Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
                .contents(content_id);
            page.resources()
                .fonts()
                .pair(BODY.name(), regular)
                .pair(CAPTION.name(), bold);
            drop(page);
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }

    fn new_page(&mut self) {
        self.done
            .push(std::mem::replace(&mut self.page, Content::new()));
        self.y = TOP;
        self.fresh = true;
    }

    /// Starts a new page unless `height` still fits on this one (or this one is empty).
    fn ensure(&mut self, height: f32) {
        if !self.fresh && self.y - height < BOTTOM {
            self.new_page();
        }
    }

    fn advance(&mut self, height: f32) {
        self.y -= height;
        self.fresh = false;
    }

    /// Vertical space between blocks, dropped at the top of a page.
    fn gap(&mut self, height: f32) {
        if !self.fresh {
            self.y -= height;
        }
    }

    fn lines(&mut self, lines: &[String], font: Font, leading: f32) {
        for line in lines {
            self.ensure(leading);
            let y = self.y - baseline(font, leading);
            show(&mut self.page, LEFT, y, font, 0.0, line);
            self.advance(leading);
        }
    }

    /// Draws one body row, moving it to the next page (after a repeated header) when it
    /// would fit there, and splitting it by lines only when it is taller than a page.
    fn grid_row(&mut self, grid: &Grid, cells: &[Vec<String>], header_only: &mut bool) {
        let total = line_count(cells);
        let page_fit = fitting(TOP - grid.head_height() - BOTTOM);
        let mut start = 0;
        while start < total {
            let remaining = total - start;
            let fit = fitting(self.y - BOTTOM);
            if fit < remaining && !*header_only && (remaining <= page_fit || fit == 0) {
                self.new_page();
                self.grid_head(grid);
                *header_only = true;
                continue;
            }
            let take = remaining.min(fit).max(1);
            self.grid_rows(grid, cells, start..start + take, false);
            *header_only = false;
            start += take;
        }
    }

    /// Draws the header row, if the table has one.
    fn grid_head(&mut self, grid: &Grid) {
        if !grid.head.is_empty() {
            self.grid_rows(grid, &grid.head, 0..usize::MAX, true);
        }
    }

    /// Draws the lines `part` of a row's cells, with the row's fill and rule.
    fn grid_rows(&mut self, grid: &Grid, cells: &[Vec<String>], part: Range<usize>, head: bool) {
        let start = part.start;
        let count = part
            .len()
            .min(line_count(cells).saturating_sub(start))
            .max(1);
        let height = row_height(count);
        let total_w: f32 = grid.widths.iter().sum();
        let (top, bottom) = (self.y, self.y - height);
        if head {
            self.page
                .set_fill_gray(0.9)
                .rect(LEFT, bottom, total_w, height)
                .fill_nonzero();
        }
        let font = if head { HEAD } else { CELL };
        let mut x = LEFT;
        for ((lines, &w), &right) in cells.iter().zip(&grid.widths).zip(&grid.num) {
            for (k, line) in lines.iter().skip(start).take(count).enumerate() {
                let y = top - PAD_Y - k as f32 * CELL_LEADING - baseline(font, CELL_LEADING);
                let tx = if right {
                    x + w - PAD_X - font.width(line)
                } else {
                    x + PAD_X
                };
                show(&mut self.page, tx, y, font, 0.0, line);
            }
            x += w;
        }
        let (gray, width) = if head { (0.45, 0.8) } else { (0.75, 0.4) };
        self.page
            .set_stroke_gray(gray)
            .set_line_width(width)
            .move_to(LEFT, bottom)
            .line_to(LEFT + total_w, bottom)
            .stroke();
        self.advance(height);
    }
}

/// A column holds numbers when its cells have digits and no letters.
fn numeric<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> bool {
    let digits = cells
        .clone()
        .any(|c| c.chars().any(|ch| ch.is_ascii_digit()));
    digits && !cells.flat_map(str::chars).any(char::is_alphabetic)
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

fn line_count(cells: &[Vec<String>]) -> usize {
    cells.iter().map(Vec::len).max().unwrap_or(0).max(1)
}

fn row_height(lines: usize) -> f32 {
    lines as f32 * CELL_LEADING + 2.0 * PAD_Y
}

/// How many table lines fit into `height` points.
fn fitting(height: f32) -> usize {
    ((height - 2.0 * PAD_Y) / CELL_LEADING).floor().max(0.0) as usize
}

/// Distance from the top of a line box to the baseline, centring the capitals.
fn baseline(font: Font, leading: f32) -> f32 {
    (leading + CAP * font.size) / 2.0
}

/// Column widths: natural widths when they fit; else the first column takes what the others
/// leave; else each column keeps up to a fair share and the rest is shared by need.
fn column_widths(n: usize, headers: &[String], rows: &[Vec<String>]) -> Vec<f32> {
    let widest = |text: &str, font: Font| {
        text.split('\n')
            .map(|l| font.width(l.trim()))
            .fold(0.0, f32::max)
    };
    let natural: Vec<f32> = (0..n)
        .map(|i| {
            let head = widest(cell(headers, i), HEAD);
            rows.iter()
                .map(|r| widest(cell(r, i), CELL))
                .fold(head, f32::max)
                + 2.0 * PAD_X
                + 0.5
        })
        .collect();
    let total: f32 = natural.iter().sum();
    let others: f32 = natural[1..].iter().sum();
    if total <= TEXT_W {
        return natural;
    }
    if TEXT_W - others >= natural[0].min(TEXT_W / 4.0) {
        let mut widths = natural;
        widths[0] = TEXT_W - others;
        return widths;
    }
    let fair = TEXT_W / n as f32;
    let base: f32 = natural.iter().map(|w| w.min(fair)).sum();
    let share = (TEXT_W - base) / (total - base);
    natural
        .iter()
        .map(|w| w.min(fair) + (w - w.min(fair)) * share)
        .collect()
}

/// Writes one line of text in grey level `gray` (0 = black) with its baseline at `y`.
fn show(content: &mut Content, x: f32, y: f32, font: Font, gray: f32, text: &str) {
    content
        .set_fill_gray(gray)
        .begin_text()
        .set_font(font.name(), font.size)
        .next_line(x, y)
        .show(Str(&winansi(text)))
        .end_text();
}

/// Word-wraps `text` to `width` points; `\n` breaks lines and words too long for a line
/// are broken between characters. Blank text gives no lines.
fn wrap(text: &str, font: Font, width: f32) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let width = width.max(1.0) + 0.01;
    let mut lines = Vec::new();
    for raw in text.split('\n') {
        let mut line = String::new();
        for word in raw.split_whitespace() {
            let joined = format!("{line} {word}").trim_start().to_string();
            if font.width(&joined) <= width {
                line = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut rest = word;
            loop {
                let (mut end, mut used) = (0, 0.0);
                for (i, c) in rest.char_indices() {
                    used += font.char_width(c);
                    if used > width && i > 0 {
                        break;
                    }
                    end = i + c.len_utf8();
                }
                if end == rest.len() {
                    break;
                }
                lines.push(rest[..end].to_string());
                rest = &rest[end..];
            }
            line = rest.to_string();
        }
        lines.push(line);
    }
    lines
}

/// Shortens `text` with an ellipsis to fit `width` points.
fn truncate(text: &str, font: Font, width: f32) -> String {
    if font.width(text) <= width {
        return text.to_string();
    }
    let mut short: String = text.to_string();
    while !short.is_empty() && font.width(&short) + font.char_width('…') > width {
        short.pop();
    }
    format!("{}…", short.trim_end())
}

/// Helvetica or Helvetica-Bold at a size in points, measured with the AFM widths.
#[derive(Clone, Copy)]
struct Font {
    bold: bool,
    size: f32,
}

impl Font {
    const fn new(bold: bool, size: f32) -> Self {
        Self { bold, size }
    }

    fn of<T: BackendTextStyle>(style: &T) -> Self {
        Self::new(
            matches!(style.style(), FontStyle::Bold),
            style.size() as f32,
        )
    }

    fn name(self) -> Name<'static> {
        Name(if self.bold { b"F2" } else { b"F1" })
    }

    fn char_width(self, c: char) -> f32 {
        let table = [&HELVETICA, &HELVETICA_BOLD][usize::from(self.bold)];
        f32::from(table[usize::from(winansi_byte(c))]) * self.size / 1000.0
    }

    fn width(self, text: &str) -> f32 {
        text.chars().map(|c| self.char_width(c)).sum()
    }
}

/// Encodes text as WinAnsi (cp1252) bytes, the encoding of the standard fonts here.
fn winansi(text: &str) -> Vec<u8> {
    text.chars().map(winansi_byte).collect()
}

/// WinAnsi's codes 0x80 to 0x9F; '?' marks the unused ones.
const WINANSI_HIGH: &str = "€?‚ƒ„…†‡ˆ‰Š‹Œ?Ž??‘’“”•–—˜™š›œ?žŸ";

fn winansi_byte(c: char) -> u8 {
    match u32::from(c) {
        code @ (0x20..=0x7E | 0xA0..=0xFF) => code as u8,
        _ => match WINANSI_HIGH.chars().position(|h| h == c) {
            Some(i) => 0x80 + i as u8,
            None if c == '−' => b'-',
            None if c.is_whitespace() => b' ',
            None => b'?',
        },
    }
}

/// Helvetica glyph widths (1/1000 em) by WinAnsi code, from Adobe's Helvetica.afm.
#[rustfmt::skip]
const HELVETICA: [u16; 256] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold glyph widths (1/1000 em) by WinAnsi code, from Adobe's Helvetica-Bold.afm.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 256] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn page_count(pdf: &[u8]) -> usize {
        let text = String::from_utf8_lossy(pdf);
        text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn output_is_a_pdf() {
        let mut doc = PdfDocument::new("Bericht", "de-DE");
        doc.heading(1, "Überschrift");
        doc.paragraph("Grüße aus Köln – 5 €.");
        let pdf = doc.finish();
        assert!(pdf.starts_with(b"%PDF-") && pdf.trim_ascii_end().ends_with(b"%%EOF"));
        assert_eq!(page_count(&pdf), 1);
    }

    #[test]
    fn long_table_spans_three_pages_and_repeats_header() {
        let mut doc = PdfDocument::new("Tabelle", "de-DE");
        let rows: Vec<_> = (0..150)
            .map(|i| strings(&[&format!("Zeile {i}"), "1,5"]))
            .collect();
        doc.table("Lang", &strings(&["Name", "Wert"]), &rows);
        let pdf = doc.finish();
        assert!(page_count(&pdf) >= 3, "{} pages", page_count(&pdf));
        let headers = String::from_utf8_lossy(&pdf).matches("(Wert) Tj").count();
        assert_eq!(headers, page_count(&pdf));
    }

    #[test]
    fn winansi_encodes_umlauts_dash_and_euro() {
        let expected = b"Gr\xFC\xDFe \x96 5 \x80";
        assert_eq!(winansi("Grüße – 5 €"), expected);
        assert_eq!(winansi("中"), b"?");
    }

    #[test]
    fn helvetica_width_matches_afm() {
        // AFM widths: H 722 + a 556 + l 222 + l 222 + o 556 = 2278 units → 22.78 pt at 10 pt.
        assert!((BODY.width("Hallo") - 22.78).abs() < 1e-4);
        // Helvetica-Bold: H 722 + a 556 + l 278 + l 278 + o 611 = 2445 units.
        assert!((CAPTION.width("Hallo") - 24.45).abs() < 1e-4);
    }

    #[test]
    fn wrap_breaks_long_words_and_keeps_lines_within_width() {
        let word = "x".repeat(500);
        let lines = wrap(&word, BODY, 100.0);
        assert!(lines.len() > 1 && lines.concat() == word);
        assert!(lines.iter().all(|l| BODY.width(l) <= 100.01));
        assert!(wrap(" \n ", BODY, 100.0).is_empty());
    }

    #[test]
    fn headings_and_charts_do_not_end_a_page() {
        let mut doc = PdfDocument::new("Fluss", "de-DE");
        while doc.y > BOTTOM + 50.0 {
            doc.paragraph("Text");
        }
        doc.heading(2, "Kapitel");
        assert_eq!(doc.done.len(), 1, "the heading moved to page 2");
        while doc.y > BOTTOM + 100.0 {
            doc.paragraph("Text");
        }
        doc.chart(720, 340, |_| {});
        assert_eq!(doc.done.len(), 2, "the chart moved to page 3");
        assert!(doc.y < TOP - 200.0);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert!(PdfDocument::new("", "").finish().starts_with(b"%PDF-"));
        let mut doc = PdfDocument::new("Leer", "de-DE");
        let long = "W".repeat(500);
        let uneven = [strings(&["1", "2", "3"]), vec![], strings(&[""])];
        doc.table("", &[], &[]);
        doc.table("Nur Kopf", &strings(&["A", "B"]), &[]);
        doc.table("Leere Zeilen", &[], &[vec![], vec![]]);
        doc.table("Ungleich", &strings(&["A"]), &uneven);
        doc.table(
            &long,
            &[long.clone(), long.clone()],
            &[vec![long.clone(); 40]],
        );
        doc.heading(0, "");
        doc.heading(9, &long);
        doc.paragraph("");
        doc.paragraph(&long);
        doc.chart(0, 0, |_| {});
        assert!(page_count(&doc.finish()) >= 2);
    }
}
