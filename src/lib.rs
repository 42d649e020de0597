//! Kennzahl: a transparency dashboard for public administrations.
//!
//! The library is organised along the data flow of `DESIGN.md`:
//! [`ingest`] turns an office's export (bytes) into typed, validated rows of one of the
//! [`kinds`]; [`store`] keeps batches and published revisions; [`kpi`] is the one engine
//! every number comes from; [`web`] serves it with [`charts`]; [`demo`] makes the demo city
//! and benchmark data.

pub mod charts;
pub mod config;
pub mod dashboards;
pub mod demo;
pub mod i18n;
pub mod import;
pub mod ingest;
pub mod kinds;
pub mod kpi;
pub mod net;
/// Presentation shared by the web pages and the printed reports, below both of them.
pub mod present;
pub mod reports;
pub mod rows;
pub mod staff;
pub mod store;
pub mod timefmt;
pub mod web;
