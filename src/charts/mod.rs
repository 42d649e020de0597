//! Charts as accessible SVG, drawn with plotters: a title, a one-sentence description of what
//! the chart says, role="img", a viewBox so it scales on a phone, direct labels at the line
//! ends, and dash patterns and markers so that no series is told by colour alone.

use plotters::prelude::*;
use plotters::style::ShapeStyle;

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
    /// Labels of x positions that carry a staff note; marked with a dotted line and "Hinweis".
    pub notes: Vec<String>,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 340;

/// Colours with at least 3:1 contrast against white (WCAG 1.4.11), in KERN-like calm tones.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x00, 0x4b, 0x87), // dark blue, 8.9:1
    RGBColor(0xb3, 0x40, 0x00), // dark orange, 5.1:1
    RGBColor(0x2e, 0x6b, 0x30), // dark green, 6.3:1
    RGBColor(0x6b, 0x2c, 0x91), // purple, 8.0:1
];

/// Escapes text for XML attributes and elements.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
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
        self.make_accessible(&body)
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

    fn draw(
        &self,
        root: DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
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
            .margin_right(150)
            .margin_left(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..y_max)?;
        let step = n.div_ceil(8).max(1);
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
                (n as f64 - 0.45, t.value),
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
                    "Hinweis".to_string(),
                    (x + 0.1, y_max * 0.97),
                    ("sans-serif", 13)
                        .into_font()
                        .color(&RGBColor(0x8a, 0x4b, 0x00)),
                )))?;
            }
        }
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
            // Direct label at the last value.
            if let Some((x, y)) = runs.iter().rev().find_map(|r| r.last().copied()) {
                chart.draw_series(std::iter::once(Text::new(
                    s.label.clone(),
                    (x + 0.15, y),
                    ("sans-serif", 14).into_font().color(&colour),
                )))?;
            }
        }
        root.present()?;
        Ok(())
    }

    /// Adds role, title, description and a viewBox to plotters' SVG.
    fn make_accessible(&self, svg: &str) -> String {
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        let head = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{} {}\" class=\"chart\"><title id=\"{}\">{}</title><desc id=\"{}\">{}</desc>",
            xml_escape(&title_id),
            xml_escape(&desc_id),
            xml_escape(&title_id),
            xml_escape(&self.title),
            xml_escape(&desc_id),
            xml_escape(&self.description)
        );
        let body = match (svg.find("<svg"), svg.find('>')) {
            (Some(_), Some(end)) => &svg[end + 1..],
            _ => svg,
        };
        format!("{head}{body}")
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
