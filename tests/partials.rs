//! The KPI engine answers visits questions from mergeable partial aggregates: kept ones where
//! they cover the question (by month, quarter, year, office and one split: appointment,
//! location or service), ones computed from the rows when asked for questions by weekday or
//! hour, and from rows directly otherwise. All must give the same table as the rows, cell for
//! cell: this checks it on the demo city (single visits, a target of its own) together with
//! ZMS reports (aggregates), for every question the pages and the API ask.

mod common;
use common::*;
use kennzahl::kinds::Kind;
use kennzahl::kpi::{self, Dim, KpiTable, Query, Value};
use kennzahl::store::{Cells, Store, Target};

fn data() -> DataDir {
    let d = with_demo_city();
    for report in ["clientstatistic", "waitingstatistic", "requeststatistic"] {
        d.ok(&[
            "import",
            &fixture(&format!("zms/{report}_2024-03.xlsx")),
            "--publish",
        ]);
    }
    // A ticket export for the ZMS office's location in another month, and one mixing both.
    d
}

fn same(a: &KpiTable, b: &KpiTable, what: &str) {
    assert_eq!(a.columns, b.columns, "{what}: columns");
    assert_eq!(
        a.rows.len(),
        b.rows.len(),
        "{what}: rows\n{:?}\n{:?}",
        a.rows,
        b.rows
    );
    for (ra, rb) in a.rows.iter().zip(&b.rows) {
        for ((c, va), vb) in a.columns.iter().zip(ra).zip(rb) {
            let equal = match (va, vb) {
                (Value::Float(x), Value::Float(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                _ => va == vb,
            };
            assert!(
                equal,
                "{what}: {c}: partials {va:?}, rows {vb:?}\n{ra:?}\n{rb:?}"
            );
        }
    }
}

#[test]
fn partials_give_the_same_tables_as_rows() {
    let d = data();
    let store = Store::open(d.path()).unwrap();
    let questions = questions(&store);
    // Without targets of their own, questions of single months read the counts only; with
    // one, the histograms too.
    check(&store, &questions);
    store
        .set_target(
            Kind::Visits,
            &Target {
                office: "Einwohnermeldeamt".into(),
                kpi: "wait_target_min".into(),
                value: 20.0,
                direction: "lower".into(),
            },
        )
        .unwrap();
    check(&store, &questions);
}

/// Every question of the pages and the API, over the months of the data.
fn questions(store: &Store) -> Vec<Query> {
    let months: Vec<i32> = {
        let t = kpi::compute_from_rows(store, &Query::new(Kind::Visits, vec![Dim::Month])).unwrap();
        t.rows
            .iter()
            .filter_map(|r| match &r[0] {
                Value::Text(m) => kennzahl::timefmt::parse_month_arg(m),
                _ => None,
            })
            .collect()
    };
    let (first, last) = (months[0], *months.last().unwrap());
    use Dim::*;
    let mut questions: Vec<Query> = Vec::new();
    for by in [
        vec![Month, Office],
        vec![Month],
        vec![Quarter, Office],
        vec![Year],
        vec![],
        vec![Office],
        vec![Month, Office, Appointment],
        vec![Month, Appointment],
        vec![Month, Office, Location],
        vec![Year, Location],
        vec![Month, Service],
        vec![Office, Service],
        vec![Weekday, Hour],
        vec![Office, Weekday, Hour],
        vec![Hour],
        vec![Month, Office, Weekday],
        vec![Quarter, Hour],
        vec![Year, Office, Weekday, Hour],
    ] {
        questions.push(Query::new(Kind::Visits, by.clone()));
        questions.push(Query {
            from: Some(last),
            to: Some(last),
            ..Query::new(Kind::Visits, by.clone())
        });
        questions.push(Query {
            office: Some("Einwohnermeldeamt".into()),
            min_cell: 0,
            ..Query::new(Kind::Visits, by.clone())
        });
        questions.push(Query {
            office: Some("Bürgeramt".into()),
            min_cell: 0,
            ..Query::new(Kind::Visits, by)
        });
    }
    questions.push(Query {
        compare: true,
        from: Some(first + 100),
        ..Query::new(Kind::Visits, vec![Month, Office])
    });
    questions.push(Query {
        location: Some("Bürgerbüro Barmen".into()),
        ..Query::new(Kind::Visits, vec![Month, Office])
    });
    questions.push(Query {
        service: Some("Personalausweis".into()),
        ..Query::new(Kind::Visits, vec![Month])
    });
    // The office pages' weekday × hour chart with a location or a service chosen.
    for (location, service) in [
        (Some("Bürgerbüro Barmen"), None),
        (None, Some("Personalausweis")),
    ] {
        questions.push(Query {
            office: Some("Einwohnermeldeamt".into()),
            location: location.map(Into::into),
            service: service.map(Into::into),
            from: Some(first + 100),
            to: Some(last),
            ..Query::new(Kind::Visits, vec![Weekday, Hour])
        });
    }
    questions
}

/// Partials and rows give the same table for each question.
fn check(store: &Store, questions: &[Query]) {
    let mut answered = 0;
    for q in questions {
        let what = format!(
            "{:?} from {:?} to {:?} office {:?} location {:?} service {:?}",
            q.by, q.from, q.to, q.office, q.location, q.service
        );
        let hourly = q.by.contains(&Dim::Weekday) || q.by.contains(&Dim::Hour);
        assert_eq!(
            kpi::partials::split_for(q).is_some(),
            !hourly,
            "{what}: from kept partials unless by weekday or hour"
        );
        let cells = Cells {
            office: q.office.clone(),
            from: q.from,
            to: q.to,
        };
        let targets = store.targets(Kind::Visits).unwrap();
        assert_eq!(
            kpi::partials::weekday_hour(store, q, &cells, &targets)
                .unwrap()
                .is_some(),
            hourly,
            "{what}: by weekday or hour from partials computed when asked"
        );
        if !hourly {
            answered += 1;
        }
        let from_partials = kpi::compute(store, q).unwrap();
        let from_rows = kpi::compute_from_rows(store, q).unwrap();
        same(&from_partials, &from_rows, &what);
    }
    assert!(
        answered > questions.len() / 2,
        "most questions come from partials"
    );
}

#[test]
fn a_data_folder_from_before_partials_gets_them_on_first_use() {
    let d = data();
    let store = Store::open(d.path()).unwrap();
    let q = Query::new(Kind::Visits, vec![Dim::Month, Dim::Office]);
    let before = kpi::compute(&store, &q).unwrap();
    drop(store);
    // Forget the partials, as a folder written by an older Kennzahl has none.
    let conn = rusqlite::Connection::open(d.path().join("catalog.sqlite")).unwrap();
    conn.execute("UPDATE batches SET partials = ''", [])
        .unwrap();
    for e in std::fs::read_dir(d.path().join("batches")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().contains(".partials-") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let store = Store::open(d.path()).unwrap();
    let after = kpi::compute(&store, &q).unwrap();
    same(&after, &before, "after the partials were made again");
    let missing: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM batches WHERE kind = 'visits' AND partials = ''",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missing, 0, "kept for the next question");
}
