//! Presentation that the public pages ([`crate::web`]) and the printed reports
//! ([`crate::reports`]) share: view models, number formats and the office chart both draw.
//! It sits below both, so that neither reaches into the other for it.

pub mod format;
pub mod views;

use crate::i18n::Lang;
use crate::kpi::KpiError;
use crate::store::{Store, StoreError};

/// One chart of an office page, from the engine's table.
pub fn office_chart(
    store: &Store,
    spec: &crate::dashboards::ChartSpec,
    office: &str,
    notes: &[(i32, String)],
    filter: &views::ViewFilter,
    min_cell: u32,
    lang: Lang,
) -> Result<views::ChartView, KpiError> {
    let table = views::chart_table(store, spec, office, filter, min_cell)?;
    let target = views::chart_target(store, spec, office, lang)?;
    Ok(views::chart_view(
        spec,
        table,
        &views::ChartContext {
            office,
            notes,
            target,
            filter,
            lang,
        },
    ))
}

/// The notes staff attached to an office's months: (month, text).
pub fn office_notes(store: &Store, office: &str) -> Result<Vec<(i32, String)>, StoreError> {
    Ok(store
        .notes(Some(office))?
        .into_iter()
        .map(|(_, m, t)| (m, t))
        .collect())
}
