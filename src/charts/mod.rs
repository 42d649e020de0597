//! Charts as accessible SVG, drawn with plotters: a title, a one-sentence description of what
//! the chart says, role="img", a viewBox so it scales on a phone, direct labels at the line
//! ends, and dash patterns and markers so that no series is told by colour alone.

use plotters::prelude::*;
use plotters::style::ShapeStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    /// (x label, value); `None` for suppressed or missing values (a gap in the line).
    pub points: Vec<(String, Option<f64>)>,
}

/// A horizontal target line.
#[derive(Debug, Clone)]
pub struct TargetLine {
    pub label: String,
    pub value: f64,
}

/// A line chart over months (or any ordered categories).
#[derive(Debug, Clone)]
pub struct LineChart {
    pub id: String,
    pub title: String,
    pub description: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub target: Option<TargetLine>,
    /// Labels of x positions that carry a staff note; marked with a dotted line and `note_label`.
    pub notes: Vec<String>,
    /// The word at a note's line ("Hinweis", "Note").
    pub note_label: String,
}

/// The drawing size of a line chart in pixels.
pub const WIDTH: u32 = 720;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 340;
/// The phone-sized chart: about the width of a phone screen in CSS pixels.
const NARROW_WIDTH: u32 = 400;
const NARROW_PLOT: u32 = 300;
const LEGEND_ROW: u32 = 26;

/// Colours with at least 3:1 contrast against white (WCAG 1.4.11), in KERN-like calm tones.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x00, 0x4b, 0x87), // dark blue, 8.9:1
    RGBColor(0xb3, 0x40, 0x00), // dark orange, 5.1:1
    RGBColor(0x2e, 0x6b, 0x30), // dark green, 6.3:1
    RGBColor(0x6b, 0x2c, 0x91), // purple, 8.0:1
];

/// Escapes text for XML attributes and elements (SVG, Atom), leaving out the characters XML
/// 1.0 cannot carry (control characters pasted into an office name or a note).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

impl LineChart {
    /// Renders the SVG document.
    pub fn to_svg(&self) -> String {
        let mut body = String::new();
        {
            let root = SVGBackend::with_string(&mut body, (WIDTH, HEIGHT)).into_drawing_area();
            let _ = self.draw(root);
        }
        accessible(
            &self.id,
            &self.title,
            &self.description,
            WIDTH,
            HEIGHT,
            &body,
        )
    }

    /// The phone-sized SVG: drawn at about the size it is shown, so that its text stays
    /// readable; the lines are named in a legend under the chart instead of at their ends.
    pub fn to_svg_narrow(&self) -> String {
        let (w, h) = (
            NARROW_WIDTH,
            NARROW_PLOT + LEGEND_ROW * self.series.len() as u32 + 8,
        );
        let mut body = String::new();
        {
            let root = SVGBackend::with_string(&mut body, (w, h)).into_drawing_area();
            let _ = self.draw_sized(root, true);
        }
        let id = format!("{}-narrow", self.id);
        accessible(&id, &self.title, &self.description, w, h, &body)
    }

    fn x_labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for s in &self.series {
            for (x, _) in &s.points {
                if !labels.contains(x) {
                    labels.push(x.clone());
                }
            }
        }
        labels
    }

    /// Draws onto any plotters backend: SVG for pages, PDF for the printed report.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + 'static>>
    where
        DB::ErrorType: 'static,
    {
        self.draw_sized(root, false)
    }

    fn draw_sized<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
        narrow: bool,
    ) -> Result<(), Box<dyn std::error::Error + 'static>>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (root, legend) = if narrow {
            let (plot, legend) = root.split_vertically(NARROW_PLOT);
            (plot, Some(legend))
        } else {
            (root.clone(), None)
        };
        let labels = self.x_labels();
        let n = labels.len().max(1);
        let max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .chain(self.target.as_ref().map(|t| t.value))
            .fold(0.0_f64, f64::max);
        let y_max = if max <= 0.0 { 1.0 } else { max * 1.15 };
        let mut chart = ChartBuilder::on(&root)
            .margin_top(12)
            .margin_right(if narrow { 16 } else { 150 })
            .margin_left(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..y_max)?;
        let step = n.div_ceil(if narrow { 4 } else { 8 }).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xd9, 0xd9, 0xd9))
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .axis_style(RGBColor(0x55, 0x55, 0x55))
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                if (x - x.round()).abs() < 1e-6 && i < labels.len() && i.is_multiple_of(step) {
                    labels[i].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(self.y_label.as_str())
            .label_style(
                ("sans-serif", 13)
                    .into_font()
                    .color(&RGBColor(0x33, 0x33, 0x33)),
            )
            .draw()?;
        if let Some(t) = &self.target {
            let style = ShapeStyle::from(&RGBColor(0x55, 0x55, 0x55)).stroke_width(2);
            chart.draw_series(DashedLineSeries::new(
                vec![(-0.5, t.value), (n as f64 - 0.5, t.value)],
                3,
                5,
                style,
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                t.label.clone(),
                // On a phone there is no room at the right: the label sits above the line.
                if narrow {
                    (-0.4, t.value + y_max * 0.08)
                } else {
                    (n as f64 - 0.45, t.value)
                },
                ("sans-serif", 13)
                    .into_font()
                    .color(&RGBColor(0x33, 0x33, 0x33)),
            )))?;
        }
        for note in &self.notes {
            if let Some(i) = labels.iter().position(|l| l == note) {
                let x = i as f64;
                let style = ShapeStyle::from(&RGBColor(0x8a, 0x4b, 0x00)).stroke_width(2);
                chart.draw_series(DashedLineSeries::new(
                    vec![(x, 0.0), (x, y_max * 0.97)],
                    2,
                    4,
                    style,
                ))?;
                chart.draw_series(std::iter::once(Text::new(
                    self.note_label.clone(),
                    (x + 0.1, y_max * 0.97),
                    ("sans-serif", 13)
                        .into_font()
                        .color(&RGBColor(0x8a, 0x4b, 0x00)),
                )))?;
            }
        }
        let mut ends: Vec<(usize, f64, f64)> = Vec::new();
        for (k, s) in self.series.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let style = ShapeStyle::from(&colour).stroke_width(3);
            let index = |x: &String| labels.iter().position(|l| l == x).unwrap_or(0) as f64;
            // Lines break at gaps; each run is drawn on its own.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (x, v) in &s.points {
                match v {
                    Some(v) => runs.last_mut().expect("one run").push((index(x), *v)),
                    None => runs.push(Vec::new()),
                }
            }
            for run in runs.iter().filter(|r| !r.is_empty()) {
                if k % 2 == 0 {
                    chart.draw_series(LineSeries::new(run.clone(), style))?;
                } else {
                    chart.draw_series(DashedLineSeries::new(run.clone(), 8, 4, style))?;
                }
                // Markers: circles for the first series, squares for the second, triangles after.
                for &(x, y) in run {
                    match k % 3 {
                        0 => chart.draw_series(std::iter::once(Circle::new(
                            (x, y),
                            4,
                            colour.filled(),
                        )))?,
                        1 => chart.draw_series(std::iter::once(Rectangle::new(
                            [(x - 0.08, y - y_max * 0.012), (x + 0.08, y + y_max * 0.012)],
                            colour.filled(),
                        )))?,
                        _ => chart.draw_series(std::iter::once(TriangleMarker::new(
                            (x, y),
                            5,
                            colour.filled(),
                        )))?,
                    };
                }
            }
            if let Some((x, y)) = runs.iter().rev().find_map(|r| r.last().copied()) {
                ends.push((k, x, y));
            }
        }
        match legend {
            // Direct labels at the last values, pushed apart where lines end close together.
            None => {
                ends.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
                let gap = y_max * 0.06;
                let mut last_y = f64::MAX;
                for (k, x, y) in ends {
                    let y = y.min(last_y - gap);
                    last_y = y;
                    chart.draw_series(std::iter::once(Text::new(
                        self.series[k].label.clone(),
                        (x + 0.15, y),
                        ("sans-serif", 14)
                            .into_font()
                            .color(&COLOURS[k % COLOURS.len()]),
                    )))?;
                }
            }
            // A legend with each line's dash and marker.
            Some(legend) => {
                for (k, s) in self.series.iter().enumerate() {
                    let colour = COLOURS[k % COLOURS.len()];
                    let y = 12 + k as i32 * LEGEND_ROW as i32;
                    let style = ShapeStyle::from(&colour).stroke_width(3);
                    if k % 2 == 0 {
                        legend.draw(&PathElement::new(vec![(16, y), (52, y)], style))?;
                    } else {
                        for x0 in [16, 30, 44] {
                            legend.draw(&PathElement::new(vec![(x0, y), (x0 + 8, y)], style))?;
                        }
                    }
                    match k % 3 {
                        0 => legend.draw(&Circle::new((34, y), 4, colour.filled()))?,
                        1 => legend
                            .draw(&Rectangle::new([(30, y - 4), (38, y + 4)], colour.filled()))?,
                        _ => legend.draw(&TriangleMarker::new((34, y), 5, colour.filled()))?,
                    }
                    legend.draw(&Text::new(
                        s.label.clone(),
                        (62, y),
                        ("sans-serif", 15)
                            .into_font()
                            .color(&RGBColor(0x1a, 0x1a, 0x1a))
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ))?;
                }
            }
        }
        root.present()?;
        Ok(())
    }
}

/// Adds role, title, description and a viewBox to plotters' SVG.
fn accessible(
    id: &str,
    title: &str,
    description: &str,
    width: u32,
    height: u32,
    svg: &str,
) -> String {
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let head = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{} {}\" class=\"chart\"><title id=\"{}\">{}</title><desc id=\"{}\">{}</desc>",
        xml_escape(&title_id),
        xml_escape(&desc_id),
        xml_escape(&title_id),
        xml_escape(title),
        xml_escape(&desc_id),
        xml_escape(description)
    );
    let body = match (svg.find("<svg"), svg.find('>')) {
        (Some(_), Some(end)) => &svg[end + 1..],
        _ => svg,
    };
    format!("{head}{body}")
}

/// One cell of a [`Heatmap`]: the shaded value (`None` when suppressed), its text and the
/// count's text.
pub type HeatCell = (Option<f64>, String, String);

/// A weekday × hour grid ("Wann ist wenig los?"): each cell shaded by its value and carrying
/// the value and a count as text, so that the shade is never the only carrier.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Column headings (weekdays).
    pub columns: Vec<String>,
    /// Row headings (hours).
    pub rows: Vec<String>,
    /// `cells[row][column]`; `None` = no data.
    pub cells: Vec<Vec<Option<HeatCell>>>,
    /// What the shade means, under the grid.
    pub legend: String,
}

/// Five blues from light to dark; text is black on the first three and white on the last two
/// (each pair at least 4.5:1).
const SHADES: [(RGBColor, RGBColor); 5] = [
    (RGBColor(0xe8, 0xf1, 0xfa), BLACK),
    (RGBColor(0xc5, 0xdb, 0xf0), BLACK),
    (RGBColor(0x8f, 0xb8, 0xe0), BLACK),
    (RGBColor(0x2f, 0x6d, 0xb0), WHITE),
    (RGBColor(0x00, 0x3a, 0x70), WHITE),
];

impl Heatmap {
    const CELL_H: u32 = 34;

    /// The drawing size in pixels (wide or phone-sized).
    pub fn size(&self, narrow: bool) -> (u32, u32) {
        let w = if narrow { NARROW_WIDTH } else { WIDTH };
        (w, 40 + Self::CELL_H * self.rows.len() as u32 + 40)
    }

    /// Renders the SVG document.
    pub fn to_svg(&self) -> String {
        self.svg_sized(false)
    }

    /// The phone-sized SVG: cells carry the shaded value only (the counts are in the table).
    pub fn to_svg_narrow(&self) -> String {
        self.svg_sized(true)
    }

    fn svg_sized(&self, narrow: bool) -> String {
        let (w, h) = self.size(narrow);
        let mut body = String::new();
        {
            let root = SVGBackend::with_string(&mut body, (w, h)).into_drawing_area();
            let _ = self.draw_sized(root, narrow);
        }
        let id = if narrow {
            format!("{}-narrow", self.id)
        } else {
            self.id.clone()
        };
        accessible(&id, &self.title, &self.description, w, h, &body)
    }

    /// Draws onto any plotters backend.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + 'static>>
    where
        DB::ErrorType: 'static,
    {
        self.draw_sized(root, false)
    }

    fn draw_sized<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
        narrow: bool,
    ) -> Result<(), Box<dyn std::error::Error + 'static>>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (w, h) = self.size(narrow);
        let label_w = if narrow { 84i32 } else { 110 };
        let n = self.columns.len().max(1) as i32;
        let cell_w = (w as i32 - label_w - 8) / n;
        let ch = Self::CELL_H as i32;
        let font = |size: i32, colour: RGBColor| ("sans-serif", size).into_font().color(&colour);
        let grey = RGBColor(0x33, 0x33, 0x33);
        let values: Vec<f64> = self
            .cells
            .iter()
            .flatten()
            .flatten()
            .filter_map(|c| c.0)
            .collect();
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        for (j, c) in self.columns.iter().enumerate() {
            let x = label_w + j as i32 * cell_w + cell_w / 2;
            root.draw(&Text::new(
                c.clone(),
                (x, 20),
                font(14, grey).pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = 40 + i as i32 * ch;
            root.draw(&Text::new(
                r.clone(),
                (label_w - 8, y + ch / 2),
                font(13, grey).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            for j in 0..self.columns.len() {
                let x = label_w + j as i32 * cell_w;
                let cell = self
                    .cells
                    .get(i)
                    .and_then(|row| row.get(j))
                    .cloned()
                    .flatten();
                let Some((value, text, count)) = cell else {
                    root.draw(&Rectangle::new(
                        [(x + 1, y + 1), (x + cell_w - 1, y + ch - 1)],
                        ShapeStyle::from(&RGBColor(0xd0, 0xd0, 0xd0)).stroke_width(1),
                    ))?;
                    continue;
                };
                let shade = match value {
                    Some(v) if max > min => {
                        (((v - min) / (max - min)) * (SHADES.len() - 1) as f64).round() as usize
                    }
                    _ => 0,
                };
                let (fill, ink) = SHADES[shade.min(SHADES.len() - 1)];
                root.draw(&Rectangle::new(
                    [(x + 1, y + 1), (x + cell_w - 1, y + ch - 1)],
                    fill.filled(),
                ))?;
                if narrow {
                    root.draw(&Text::new(
                        text,
                        (x + cell_w / 2, y + ch / 2),
                        font(13, ink).pos(Pos::new(HPos::Center, VPos::Center)),
                    ))?;
                    continue;
                }
                root.draw(&Text::new(
                    text,
                    (x + cell_w / 2, y + 12),
                    font(13, ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
                root.draw(&Text::new(
                    count,
                    (x + cell_w / 2, y + 26),
                    font(11, ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        root.draw(&Text::new(
            self.legend.clone(),
            (label_w, h as i32 - 18),
            font(13, grey).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_labelled_and_escape_names() {
        let chart = LineChart {
            id: "c1".into(),
            title: "Wartezeit <script>".into(),
            description: "Die mittlere Wartezeit sank & stieg.".into(),
            y_label: "Minuten".into(),
            series: vec![Series {
                label: "Amt <b>x</b>".into(),
                points: vec![
                    ("2025-01".into(), Some(10.0)),
                    ("2025-02".into(), None),
                    ("2025-03".into(), Some(12.0)),
                ],
            }],
            target: Some(TargetLine {
                label: "Ziel 20".into(),
                value: 20.0,
            }),
            notes: vec!["2025-02".into()],
            note_label: "Hinweis".into(),
        };
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg xmlns"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("viewBox=\"0 0 720 340\""));
        assert!(svg.contains("<title id=\"c1-title\">Wartezeit &lt;script&gt;</title>"));
        assert!(svg.contains("sank &amp; stieg"));
        assert!(!svg.contains("<script>") && !svg.contains("<b>"));
        assert!(svg.contains("Amt &lt;b&gt;x&lt;/b&gt;"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }
}
