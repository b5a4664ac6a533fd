//! The site's charts: inline SVG drawn by plotters (its SVG backend, no
//! fonts loaded, no bitmaps), so a page shows them without JavaScript and
//! fetches nothing. Axis labels are numbers; names from data stay in the
//! HTML around a chart (escaped there) and in its accessible name (escaped
//! here), never drawn as SVG text.

use plotters::prelude::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
/// This run's colour, and the champion's (distinct for colour-blind readers too).
pub const RUN_COLOUR: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
pub const CHAMPION_COLOUR: RGBColor = RGBColor(0xc2, 0x4e, 0x00);

/// One line of a chart: `(step, value)` points.
#[derive(Debug)]
pub struct Line<'a> {
    pub points: &'a [(u64, f64)],
    pub colour: RGBColor,
}

/// A line chart of metric series against their step; `None` when no point is finite.
pub fn series(name: &str, lines: &[Line<'_>]) -> Option<String> {
    let finite = |line: &Line<'_>| -> Vec<(f64, f64)> {
        #[allow(clippy::cast_precision_loss)] // steps far below 2^52
        line.points
            .iter()
            .filter(|(_, value)| value.is_finite())
            .map(|(step, value)| (*step as f64, *value))
            .collect()
    };
    let drawn: Vec<(Vec<(f64, f64)>, RGBColor)> = lines
        .iter()
        .map(|line| (finite(line), line.colour))
        .filter(|(points, _)| !points.is_empty())
        .collect();
    let all = drawn.iter().flat_map(|(points, _)| points.iter());
    let (x_range, y_range) = ranges(all)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range, y_range)
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| trainyard_core::markdown::metric(*y))
            .label_style(("sans-serif", 14))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .max_light_lines(2)
            .draw()
            .ok()?;
        for (points, colour) in &drawn {
            if points.len() == 1 {
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                    .ok()?;
            } else {
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        colour.stroke_width(2),
                    ))
                    .ok()?;
            }
        }
        root.present().ok()?;
    }
    Some(labelled(&svg, &format!("{name} per step")))
}

/// This run's final value of a metric beside the champion's, as two bars.
pub fn against_champion(name: &str, run: f64, champion: f64) -> Option<String> {
    if !run.is_finite() || !champion.is_finite() {
        return None;
    }
    let low = run.min(champion).min(0.0);
    let high = run.max(champion).max(0.0);
    let pad = ((high - low).abs() * 0.05).max(1e-9);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 110)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(90)
            .build_cartesian_2d((low - pad)..(high + pad), 0.0..2.0)
            .ok()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(6)
            .y_labels(2)
            .x_label_formatter(&|x| trainyard_core::markdown::metric(*x))
            .y_label_formatter(&|y| {
                if *y < 1.0 {
                    "champion".to_owned()
                } else {
                    "this run".to_owned()
                }
            })
            .label_style(("sans-serif", 14))
            .max_light_lines(0)
            .draw()
            .ok()?;
        let bars = [(champion, 0.0, CHAMPION_COLOUR), (run, 1.0, RUN_COLOUR)];
        chart
            .draw_series(bars.iter().map(|(value, row, colour)| {
                Rectangle::new([(0.0, row + 0.2), (*value, row + 0.8)], colour.filled())
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(labelled(
        &svg,
        &format!("{name}: this run against the champion"),
    ))
}

/// A histogram from a profile's sketch buckets `(value, count)`, in `bins`
/// equal-width bins between the column's min and max.
pub fn histogram(name: &str, buckets: &[(f64, u64)], min: f64, max: f64) -> Option<String> {
    const BINS: usize = 20;
    if buckets.is_empty() || !min.is_finite() || !max.is_finite() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // BINS is 20
    let width = if max > min {
        (max - min) / BINS as f64
    } else {
        1.0
    };
    let mut counts = [0u64; BINS];
    for (value, count) in buckets {
        if !value.is_finite() {
            continue;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bin = (((value - min) / width).floor().max(0.0) as usize).min(BINS - 1);
        counts[bin] += count;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 220)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let high = if max > min { max } else { min + 1.0 };
        #[allow(clippy::cast_precision_loss)]
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(min..high, 0.0..(top as f64 * 1.05))
            .ok()?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|x| trainyard_core::markdown::metric(*x))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 14))
            .max_light_lines(0)
            .draw()
            .ok()?;
        #[allow(clippy::cast_precision_loss)]
        chart
            .draw_series(counts.iter().enumerate().map(|(i, count)| {
                let left = min + width * i as f64;
                Rectangle::new(
                    [(left, 0.0), (left + width * 0.92, *count as f64)],
                    RUN_COLOUR.filled(),
                )
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(labelled(&svg, &format!("histogram of {name}")))
}

/// The x and y ranges holding every point, padded so no point sits on the frame.
fn ranges<'a>(
    points: impl Iterator<Item = &'a (f64, f64)>,
) -> Option<(std::ops::Range<f64>, std::ops::Range<f64>)> {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (f64::INFINITY, f64::NEG_INFINITY);
    for (px, py) in points {
        x = (x.0.min(*px), x.1.max(*px));
        y = (y.0.min(*py), y.1.max(*py));
    }
    if !x.0.is_finite() || !y.0.is_finite() {
        return None;
    }
    if x.1 <= x.0 {
        x = (x.0 - 1.0, x.1 + 1.0);
    }
    let pad = if y.1 > y.0 {
        (y.1 - y.0) * 0.05
    } else {
        y.0.abs().max(1.0) * 0.05
    };
    Some((x.0..x.1, (y.0 - pad)..(y.1 + pad)))
}

/// The SVG as an image with an accessible name, sized by the page's CSS.
fn labelled(svg: &str, label: &str) -> String {
    let attributes = format!(
        "<svg role=\"img\" aria-label=\"{}\" class=\"chart\" ",
        super::escape_html(label)
    );
    svg.replacen("<svg ", &attributes, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_inline_svg_with_an_escaped_accessible_name() {
        let points = [(0, 1.0), (1, 0.5), (2, f64::NAN), (3, 0.25)];
        let svg = series(
            "<script>loss",
            &[Line {
                points: &points,
                colour: RUN_COLOUR,
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"&lt;script&gt;loss per step\""));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(
            series(
                "none",
                &[Line {
                    points: &[(0, f64::NAN)],
                    colour: RUN_COLOUR
                }]
            )
            .is_none()
        );
        assert!(against_champion("acc", 0.9, 0.8).unwrap().contains("<rect"));
        assert!(
            histogram("x", &[(1.0, 3), (2.0, 5)], 1.0, 2.0)
                .unwrap()
                .contains("<rect")
        );
    }
}
