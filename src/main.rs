//! The `kennzahl` command line: import exports, publish, compute KPIs, inspect history.

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kennzahl::i18n::Lang;
use kennzahl::ingest::map::Profile;
use kennzahl::ingest::{self, Options};
use kennzahl::kinds::Kind;
use kennzahl::kpi::{self, Query};
use kennzahl::store::{Store, Submission, Target};
use kennzahl::timefmt::{format_month, parse_month_arg};

/// mimalloc instead of the system allocator: an import allocates and frees column buffers of
/// hundreds of MB, and glibc's returns them to the kernel only to fault them in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kennzahl",
    version,
    about = "Transparenz-Dashboard für Verwaltungen / transparency dashboard for public administrations"
)]
struct Cli {
    /// Data folder (catalogue, Parquet files, originals)
    #[arg(long, global = true, default_value = "./data", env = "KENNZAHL_DATA")]
    data: PathBuf,
    /// Language of messages: de or en
    #[arg(long, global = true, default_value = "de", env = "KENNZAHL_LANG")]
    lang: Lang,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the public dashboard (an empty data folder gets the demo city)
    Serve {
        /// Address to listen on (default from the settings: 127.0.0.1:8080)
        #[arg(long)]
        listen: Option<String>,
        /// Settings file (TOML)
        #[arg(long, env = "KENNZAHL_CONFIG")]
        config: Option<PathBuf>,
        /// Folder of dashboard files (default: ./dashboards if there is one, else the built-in
        /// pages); edits show on the next page load
        #[arg(long)]
        dashboards: Option<PathBuf>,
    },
    /// Read, check and store an export; with --publish also publish it
    Import {
        /// One or more exports; several are read first and stored only if all are readable
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// visits, cases, digital, services or contacts (recognised from the headers if left out)
        #[arg(long)]
        kind: Option<Kind>,
        /// Office for rows (or files) that do not name one
        #[arg(long)]
        office: Option<String>,
        /// Mapping profile (TOML) for exports with unknown headers
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Publish right away
        #[arg(long)]
        publish: bool,
        /// Why published months are replaced (required to replace)
        #[arg(long)]
        reason: Option<String>,
        /// Check only; store nothing
        #[arg(long)]
        dry_run: bool,
        /// Import the valid rows and count the invalid ones instead of refusing the file
        #[arg(long)]
        skip_invalid: bool,
        /// Who imports (default: $USER)
        #[arg(long)]
        user: Option<String>,
        /// Largest accepted file in bytes
        #[arg(long, default_value_t = 1 << 30)]
        max_bytes: u64,
    },
    /// Publish a pending batch
    Publish {
        batch: i64,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        user: Option<String>,
    },
    /// Print the published KPI table
    Kpi {
        #[arg(long)]
        kind: Kind,
        /// Grouping: month, quarter, year, office, location, service, weekday, hour, appointment, channel, outcome
        #[arg(long, default_value = "month,office")]
        by: String,
        /// First month, YYYY-MM
        #[arg(long)]
        from: Option<String>,
        /// Last month, YYYY-MM
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        office: Option<String>,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        service: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Add the values of the previous month and of the same month a year before
        #[arg(long)]
        compare: bool,
        /// Cells from fewer rows are published as "."
        #[arg(long, default_value_t = 3)]
        min_cell: u32,
    },
    /// Revision history of published months
    History {
        #[arg(long)]
        kind: Kind,
        #[arg(long)]
        office: Option<String>,
        /// YYYY-MM
        #[arg(long)]
        month: Option<String>,
    },
    /// Copy the data folder while it is in use: the catalogue of one moment and every file it
    /// refers to (into an earlier backup: only what is new); the copy is a data folder
    Backup {
        /// Backup folder (created if missing; not the data folder)
        #[arg(long)]
        to: PathBuf,
    },
    /// Move a data folder into the shared store the settings name (KENNZAHL_DATABASE_URL,
    /// KENNZAHL_OBJECT_STORE): every batch, revision, original and audit entry, checked by
    /// SHA-256 and by equal KPIs
    Migrate {
        /// The data folder to move (it is only read)
        #[arg(long)]
        from: PathBuf,
    },
    /// Copy the shared store the settings name into a new data folder (SQLite and local
    /// files), checked as `migrate` is: the way back to one machine
    Export {
        /// The new data folder (must not hold a catalogue yet)
        #[arg(long)]
        to: PathBuf,
    },
    /// Make an earlier revision of a month current again
    Rollback {
        #[arg(long)]
        kind: Kind,
        #[arg(long)]
        office: String,
        /// YYYY-MM
        #[arg(long)]
        month: String,
        /// The revision to return to
        #[arg(long)]
        revision: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        user: Option<String>,
    },
    /// Set a target for a KPI of an office
    Target {
        #[arg(long)]
        kind: Kind,
        #[arg(long)]
        office: String,
        /// A KPI name, or wait_target_min (visits: the wait counted as within target, minutes)
        /// or answer_target_s (contacts: the answer time of the service level, seconds)
        #[arg(long)]
        kpi: String,
        #[arg(long)]
        value: f64,
        #[arg(long, value_enum, default_value = "lower")]
        direction: DirectionArg,
    },
    /// Write the monthly report of all offices (xlsx, pdf, csv or json)
    Report {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 3)]
        min_cell: u32,
    },
    /// Print the blank CSV template of a kind
    Template {
        #[arg(long)]
        kind: Kind,
    },
    /// Check the dashboard files of a folder and name every mistake with file, line and column
    Dashboards {
        #[arg(default_value = "dashboards")]
        dir: PathBuf,
    },
    /// Staff accounts: add, passwd, list, disable (passwords are read from standard input)
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Make the demo city's exports or benchmark data
    Demo {
        #[command(subcommand)]
        what: DemoCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (without echo on a terminal)
    Add {
        name: String,
        /// editor, publisher or admin
        #[arg(long)]
        role: String,
        /// An office the user may upload for (repeat for several; none = all offices)
        #[arg(long)]
        office: Vec<String>,
    },
    /// Set a new password (read from standard input); ends the user's sessions
    Passwd { name: String },
    /// List users with role and offices
    List,
    /// Disable a user (ends their sessions); --enable undoes it
    Disable {
        name: String,
        #[arg(long)]
        enable: bool,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write the demo city's monthly exports (datasets/demo)
    Generate {
        #[arg(long, default_value = "datasets/demo")]
        out: PathBuf,
    },
    /// Write a large visits CSV for benchmarks
    BenchVisits {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long)]
        out: PathBuf,
        /// First month, YYYY-MM
        #[arg(long, default_value = "2025-01")]
        start: String,
        /// Number of months the rows are spread over
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Add a `persons` column (people per ticket), as many queue systems export
        #[arg(long)]
        persons: bool,
    },
    /// Import and publish the demo city into the data folder
    Load {
        #[arg(long, default_value = "datasets/demo")]
        from: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Lower,
    Higher,
}

fn user_name(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

fn month_arg(s: Option<&str>) -> Result<Option<i32>> {
    s.map(|s| {
        parse_month_arg(s)
            .with_context(|| format!("{s:?} ist kein Monat (YYYY-MM) / is not a month (YYYY-MM)"))
    })
    .transpose()
}

/// mimalloc's `mi_option_purge_delay` (mimalloc.h, v3): how long freed memory is kept before
/// it is given back to the kernel.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// A command that ends within seconds keeps the memory it frees: given back to the kernel
/// and taken again, each page is cleared once more (a million-row import faulted 6,000–7,800
/// times instead of 2,100, and spent 0.3–0.5 s instead of 0.15 s in the kernel). The server keeps purging, so that its memory falls back after a large computation.
fn keep_freed_memory() {
    // SAFETY: sets a plain integer option; mimalloc reads it whenever it would purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        keep_freed_memory();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kennzahl: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let lang = cli.lang;
    match cli.command {
        Command::Serve {
            listen,
            config,
            dashboards,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,tower_http=info".into()),
                )
                .init();
            let mut settings =
                kennzahl::config::Settings::load(config.as_deref()).map_err(anyhow::Error::msg)?;
            if let Some(l) = listen {
                settings.listen = l;
            }
            if let Some(d) = dashboards {
                settings.dashboards = Some(d);
            } else if settings.dashboards.is_none() && Path::new("dashboards").is_dir() {
                settings.dashboards = Some("dashboards".into());
            }
            if let Some(dir) = &settings.dashboards {
                kennzahl::dashboards::Dashboards::load_dir(dir).map_err(|e| {
                    anyhow::anyhow!(
                        "Die Dashboard-Dateien in {} haben Fehler / the dashboard files have mistakes:\n{e}",
                        dir.display()
                    )
                })?;
            }
            let mut store = Store::open(&cli.data)?;
            // Replicas starting together on an empty database load the demo city once.
            store.alone(|store| {
                if store.is_empty()? {
                    tracing::info!(
                        "Leerer Datenordner {}: lade die Demo-Stadt",
                        cli.data.display()
                    );
                    kennzahl::demo::load_embedded(store)?;
                }
                Ok::<_, anyhow::Error>(())
            })?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(kennzahl::web::serve(store, settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            files,
            kind,
            office,
            profile,
            publish,
            reason,
            dry_run,
            skip_invalid,
            user,
            max_bytes,
        } => {
            let profile =
                match profile {
                    Some(p) => Some(
                        Profile::parse(&std::fs::read_to_string(&p).with_context(|| {
                            format!("{} nicht lesbar / not readable", p.display())
                        })?)
                        .map_err(|e| anyhow::anyhow!(e.render(lang)))?,
                    ),
                    None => None,
                };
            let opts = Options {
                kind,
                office,
                profile,
                skip_invalid,
                max_bytes,
                today: None,
            };
            let mut store = if dry_run {
                None
            } else {
                Some(Store::open(&cli.data)?)
            };
            // Every file is read before anything is stored: one refused file stores none.
            let mut ready = Vec::new();
            let mut refused = false;
            for file in &files {
                match import_read(file, &opts, store.as_ref(), &cli.data, lang)? {
                    Some(read) => ready.push((file, read)),
                    None => refused = true,
                }
            }
            let stager = store.as_ref().map(Store::stager);
            let discard_all = |ready: Vec<(&PathBuf, ReadExport)>| {
                if let Some(st) = &stager {
                    for (_, (_, staging)) in ready {
                        if let Some(staging) = staging {
                            staging.discard(st);
                        }
                    }
                }
            };
            if refused {
                discard_all(ready);
                if files.len() > 1 {
                    eprintln!(
                        "{}",
                        lang.pick(
                            "Nichts gespeichert: erst alle Dateien korrigieren.",
                            "Nothing stored: correct every file first."
                        )
                    );
                }
                return Ok(ExitCode::from(1));
            }
            let mut out = std::io::stdout().lock();
            for (file, (upload, _)) in &ready {
                if files.len() > 1 {
                    writeln!(out, "{}:", file.display())?;
                }
                writeln!(out, "{}", summary(upload, lang))?;
                for p in &upload.problems {
                    writeln!(out, "  {}", p.render(lang))?;
                }
            }
            let Some(store) = store.as_mut() else {
                return Ok(ExitCode::SUCCESS);
            };
            if let Some((a, b)) = same_part_twice(&ready) {
                discard_all(ready);
                eprintln!(
                    "{}",
                    lang.pick(
                        &format!(
                            "{} und {} betreffen dieselben Monate desselben Berichts; bitte nur eine davon importieren. Es wurde nichts gespeichert.",
                            a.display(),
                            b.display()
                        ),
                        &format!(
                            "{} and {} are for the same months of the same report; import only one of them. Nothing was stored.",
                            a.display(),
                            b.display()
                        ),
                    )
                );
                return Ok(ExitCode::from(1));
            }
            if publish {
                let refusal = ready.iter().find_map(|(_, (upload, _))| {
                    store
                        .check_replace(
                            upload.kind,
                            &upload.part,
                            &upload.parsed.partitions,
                            reason.as_deref(),
                        )
                        .err()
                });
                if let Some(e) = refusal {
                    discard_all(ready);
                    return Err(e.into());
                }
            }
            let user = user_name(user);
            for (file, (mut upload, staged)) in ready {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let staged = staged.expect("staged when a store is open");
                let batch = store.put_staged_batch(
                    &mut upload,
                    staged,
                    &Submission {
                        file_name: &name,
                        user: &user,
                    },
                )?;
                writeln!(
                    out,
                    "{} {batch}",
                    lang.pick("Gespeichert als Lieferung", "Stored as batch")
                )?;
                if publish {
                    let revs = store.publish(batch, &user, reason.as_deref())?;
                    print_revisions(&mut out, &revs, lang)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish {
            batch,
            reason,
            user,
        } => {
            let mut store = Store::open(&cli.data)?;
            let revs = store.publish(batch, &user_name(user), reason.as_deref())?;
            print_revisions(&mut std::io::stdout().lock(), &revs, lang)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Kpi {
            kind,
            by,
            from,
            to,
            office,
            location,
            service,
            format,
            compare,
            min_cell,
        } => {
            let store = Store::open(&cli.data)?;
            let by = kpi::parse_dims(&by).map_err(anyhow::Error::msg)?;
            let q = Query {
                from: month_arg(from.as_deref())?,
                to: month_arg(to.as_deref())?,
                office,
                location,
                service,
                min_cell,
                compare,
                ..Query::new(kind, by)
            };
            let table = kpi::compute(&store, &q)?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Csv => out.write_all(table.to_csv().as_bytes())?,
                Format::Json => {
                    writeln!(out, "{}", serde_json::to_string_pretty(&table.to_json())?)?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::History {
            kind,
            office,
            month,
        } => {
            let store = Store::open(&cli.data)?;
            let month = month_arg(month.as_deref())?;
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record([
                "kind",
                "office",
                "month",
                "revision",
                "batch",
                "rows",
                "published_by",
                "published_at",
                "reason",
            ])?;
            for r in store.history(kind, office.as_deref(), month)? {
                w.write_record([
                    r.kind,
                    r.office,
                    format_month(r.month),
                    r.revision.to_string(),
                    r.batch_id.to_string(),
                    r.rows.to_string(),
                    r.published_by,
                    r.published_at,
                    r.reason,
                ])?;
            }
            w.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { from } => {
            if !from.join("catalog.sqlite").exists() {
                bail!(
                    "{}",
                    lang.pick(
                        &format!(
                            "{} ist kein Datenordner (kein catalog.sqlite)",
                            from.display()
                        ),
                        &format!(
                            "{} is not a data folder (no catalog.sqlite)",
                            from.display()
                        ),
                    )
                );
            }
            let source = Store::open_local_to_read(&from)?;
            let mut target = Store::open(&cli.data)?;
            if !target.shared_catalog() {
                bail!(
                    "{}",
                    lang.pick(
                        "migrate überträgt in PostgreSQL: bitte KENNZAHL_DATABASE_URL (und KENNZAHL_OBJECT_STORE) setzen",
                        "migrate moves into PostgreSQL: set KENNZAHL_DATABASE_URL (and KENNZAHL_OBJECT_STORE)",
                    )
                );
            }
            transfer_and_check(&source, &mut target, lang)
        }
        Command::Export { to } => {
            if to.join("catalog.sqlite").exists() {
                bail!(
                    "{}",
                    lang.pick(
                        &format!(
                            "{} hat schon einen Katalog; bitte einen neuen Ordner angeben",
                            to.display()
                        ),
                        &format!(
                            "{} has a catalogue already; name a new folder",
                            to.display()
                        ),
                    )
                );
            }
            let source = Store::open(&cli.data)?;
            let mut target = Store::open_at(&to, None, None)?;
            transfer_and_check(&source, &mut target, lang)
        }
        Command::Backup { to } => {
            let store = Store::open(&cli.data)?;
            let r = store.backup_to(&to)?;
            println!(
                "{}",
                lang.pick(
                    &format!(
                        "Gesichert nach {}: {} Lieferungen, {} Dateien kopiert ({:.1} MB), {} waren schon da.",
                        to.display(),
                        r.batches,
                        r.copied,
                        r.bytes as f64 / 1e6,
                        r.kept
                    ),
                    &format!(
                        "Backed up to {}: {} batches, {} files copied ({:.1} MB), {} were there already.",
                        to.display(),
                        r.batches,
                        r.copied,
                        r.bytes as f64 / 1e6,
                        r.kept
                    ),
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Rollback {
            kind,
            office,
            month,
            revision,
            reason,
            user,
        } => {
            let mut store = Store::open(&cli.data)?;
            let month = month_arg(Some(&month))?.expect("given");
            if reason.trim().is_empty() {
                bail!("Bitte einen Grund angeben (--reason) / give a reason (--reason)");
            }
            let r = store.rollback(kind, &office, month, revision, &user_name(user), &reason)?;
            println!(
                "{} {} {}: Revision {} (= {} {revision})",
                r.kind,
                r.office,
                format_month(r.month),
                r.revision,
                lang.pick("wie Revision", "same as revision")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Target {
            kind,
            office,
            kpi,
            value,
            direction,
        } => {
            let store = Store::open(&cli.data)?;
            let known = kennzahl::kpi::takes_target(kind, &kpi);
            if !known {
                bail!("{kpi:?} ist keine Kennzahl von {kind} / is not a KPI of {kind}");
            }
            let direction = match direction {
                DirectionArg::Lower => "lower",
                DirectionArg::Higher => "higher",
            };
            store.set_target(
                kind,
                &Target {
                    office,
                    kpi,
                    value,
                    direction: direction.into(),
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            month,
            format,
            out,
            min_cell,
        } => {
            let store = Store::open(&cli.data)?;
            let month = month_arg(Some(&month))?.expect("given");
            let dashboards = if Path::new("dashboards").is_dir() {
                kennzahl::dashboards::Dashboards::load_dir(Path::new("dashboards"))
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            } else {
                kennzahl::dashboards::Dashboards::embedded()
            };
            let settings = kennzahl::config::Settings::load(None).map_err(anyhow::Error::msg)?;
            let cx = kennzahl::reports::ReportContext {
                dashboards: &dashboards,
                site_name: &settings.site_name,
            };
            let bytes = kennzahl::reports::render(&store, month, &format, min_cell, &cx)?;
            std::fs::write(&out, bytes).with_context(|| out.display().to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dashboards { dir } => match kennzahl::dashboards::Dashboards::load_dir(&dir) {
            Ok(d) => {
                println!(
                    "{}: in Ordnung / fine (Übersicht, Standardseite, {} Amtsseiten)",
                    dir.display(),
                    d.offices.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(1))
            }
        },
        Command::User { what } => {
            let db = kennzahl::staff::StaffDb::open(&cli.data)?;
            let by = user_name(None);
            match what {
                UserCommand::Add { name, role, office } => {
                    let role: kennzahl::staff::accounts::Role = role.parse()?;
                    let password = read_password(lang)?;
                    let u = db.add_user(&name, role, &office, &password)?;
                    db.audit(
                        &by,
                        "user add",
                        &format!("{} ({})", u.name, role.as_str()),
                        "cli",
                    )?;
                    println!(
                        "{} {} ({})",
                        lang.pick("Angelegt:", "Added:"),
                        u.name,
                        role.as_str()
                    );
                }
                UserCommand::Passwd { name } => {
                    let password = read_password(lang)?;
                    db.set_password(&name, &password)?;
                    db.audit(&by, "user passwd", &name, "cli")?;
                    println!("{}", lang.pick("Passwort geändert.", "Password changed."));
                }
                UserCommand::List => {
                    for u in db.users()? {
                        println!(
                            "{}\t{}\t{}{}",
                            u.name,
                            u.role.as_str(),
                            if u.offices.is_empty() {
                                lang.pick("alle Ämter", "all offices").to_string()
                            } else {
                                u.offices.join(", ")
                            },
                            if u.disabled {
                                lang.pick("\tgesperrt", "\tdisabled")
                            } else {
                                ""
                            }
                        );
                    }
                }
                UserCommand::Disable { name, enable } => {
                    db.set_disabled(&name, !enable)?;
                    db.audit(
                        &by,
                        if enable {
                            "user enable"
                        } else {
                            "user disable"
                        },
                        &name,
                        "cli",
                    )?;
                    println!("{name}: {}", if enable { "enabled" } else { "disabled" });
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Template { kind } => {
            print!("{}", kind.template());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { what } => match what {
            DemoCommand::Generate { out } => {
                kennzahl::demo::generate(&out)?;
                println!("{}", out.display());
                Ok(ExitCode::SUCCESS)
            }
            DemoCommand::BenchVisits {
                rows,
                out,
                start,
                months,
                persons,
            } => {
                let start = month_arg(Some(&start))?.context("--start YYYY-MM")?;
                kennzahl::demo::bench_visits(rows, &out, start, months.max(1), persons)?;
                Ok(ExitCode::SUCCESS)
            }
            DemoCommand::Load { from } => {
                let mut store = Store::open(&cli.data)?;
                if !store.is_empty()? {
                    println!(
                        "{}",
                        lang.pick(
                            "Der Datenordner enthält schon Daten; Demo nicht geladen.",
                            "The data folder already holds data; demo not loaded."
                        )
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                let n = kennzahl::demo::load(&mut store, &from)?;
                println!("{n} {}", lang.pick("Lieferungen geladen", "batches loaded"));
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// The bytes of an export. Large files are memory-mapped (read-only) instead of copied:
/// an office's export is not changed while it is being imported.
/// A read export and, when a data folder is open, its original being kept there.
type ReadExport = (ingest::Upload, Option<kennzahl::store::Staging>);

/// Reads one export for `kennzahl import`; its original is kept on a thread of its own that
/// goes on after the reading (the batch's files are written meanwhile).
/// `None` (after printing every problem) when the file is refused; nothing of it is kept.
fn import_read(
    file: &std::path::Path,
    opts: &Options,
    store: Option<&Store>,
    data: &std::path::Path,
    lang: Lang,
) -> Result<Option<ReadExport>> {
    // Refuse a too-large file before reading it into memory.
    let size = std::fs::metadata(file)
        .with_context(|| format!("{} nicht lesbar / not readable", file.display()))?
        .len();
    if opts.max_bytes > 0 && size > opts.max_bytes {
        let e = kennzahl::ingest::problem::UploadError::TooLarge {
            size,
            limit: opts.max_bytes,
        };
        eprintln!("{}: {}", file.display(), e.render(lang));
        return Ok(None);
    }
    let shared = read_export(file)?;
    let bytes: &[u8] = &shared;
    let stager = store.map(Store::stager);
    // Headers the aliases do not know: a mapping profile saved in the staff area may.
    let saved = || -> Vec<(String, Profile)> {
        let texts = match store {
            Some(s) => s.profiles(),
            None if data.join("catalog.sqlite").exists()
                || kennzahl::store::catalog::database_url().is_some() =>
            {
                Store::open(data).and_then(|s| s.profiles())
            }
            None => Ok(Vec::new()),
        };
        kennzahl::import::read_profiles(texts.unwrap_or_default())
    };
    let staging = stager
        .as_ref()
        .map(|st| st.stage_in_background(shared.clone()));
    let read = kennzahl::import::import(bytes, opts, saved).into_result();
    match read {
        Ok(upload) => Ok(Some((upload, staging))),
        Err(e) => {
            if let (Some(st), Some(staging)) = (&stager, staging) {
                staging.discard(st);
            }
            eprintln!("{}: {}", file.display(), e.render(lang));
            Ok(None)
        }
    }
}

/// Moves `source` into `target` (see `store::transfer`) and compares the monthly KPIs of
/// every kind in both.
fn transfer_and_check(source: &Store, target: &mut Store, lang: Lang) -> Result<ExitCode> {
    kennzahl::staff::create_tables(target.catalog_db())?;
    let report = kennzahl::store::transfer::transfer(source, target)?;
    for kind in Kind::ALL {
        let q = Query::new(
            kind,
            kpi::parse_dims("month,office").map_err(anyhow::Error::msg)?,
        );
        let (a, b) = (kpi::compute(source, &q)?, kpi::compute(target, &q)?);
        if a.to_csv() != b.to_csv() {
            bail!(
                "{}",
                lang.pick(
                    &format!("Die Kennzahlen von {kind} weichen nach der Übertragung ab; das Ziel bitte verwerfen"),
                    &format!("The KPIs of {kind} differ after the transfer; discard the target"),
                )
            );
        }
    }
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!(
        "{}",
        lang.pick(
            &format!(
                "Übertragen: {} ({} Dateien, {:.1} MB, per SHA-256 geprüft); Kennzahlen gleich.",
                rows.join(", "),
                report.files,
                report.bytes as f64 / 1e6
            ),
            &format!(
                "Transferred: {} ({} files, {:.1} MB, checked by SHA-256); KPIs equal.",
                rows.join(", "),
                report.files,
                report.bytes as f64 / 1e6
            ),
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// Two files of one import that would publish the same part of the same month.
fn same_part_twice<'a>(ready: &[(&'a PathBuf, ReadExport)]) -> Option<(&'a PathBuf, &'a PathBuf)> {
    for (i, (a, (ua, _))) in ready.iter().enumerate() {
        for (b, (ub, _)) in &ready[..i] {
            if ua.collides_with(ub) {
                return Some((b, a));
            }
        }
    }
    None
}

fn read_export(path: &std::path::Path) -> Result<kennzahl::store::SharedBytes> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("{} nicht lesbar / not readable", path.display()))?;
    let len = file.metadata()?.len();
    if len < 16 << 20 {
        let mut bytes = Vec::with_capacity(len as usize);
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        return Ok(std::sync::Arc::new(bytes));
    }
    // SAFETY: the map is read-only. It is sound as long as no other process changes the file
    // while it is imported; exports are finished files. Should one be truncated meanwhile,
    // the process dies with SIGBUS before its catalogue transaction, and the store stays as
    // it was (writes are atomic). Saves a 100+ MB copy on large files.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("{} nicht lesbar / not readable", path.display()))?;
    Ok(std::sync::Arc::new(map))
}

/// One line per published revision.
fn print_revisions(
    out: &mut impl Write,
    revs: &[kennzahl::store::Revision],
    lang: Lang,
) -> std::io::Result<()> {
    for r in revs {
        writeln!(
            out,
            "{} {} {} {}: Revision {}",
            lang.pick("Veröffentlicht", "Published"),
            r.kind,
            r.office,
            format_month(r.month),
            r.revision
        )?;
    }
    Ok(())
}

fn summary(u: &ingest::Upload, lang: Lang) -> String {
    let months: std::collections::BTreeSet<i32> =
        u.parsed.partitions.keys().map(|(_, m)| *m).collect();
    let offices: std::collections::BTreeSet<&str> = u
        .parsed
        .partitions
        .keys()
        .map(|(o, _)| o.as_str())
        .collect();
    let period = match (months.first(), months.last()) {
        (Some(a), Some(b)) if a == b => format_month(*a),
        (Some(a), Some(b)) => format!("{} – {}", format_month(*a), format_month(*b)),
        _ => String::new(),
    };
    let mut s = match lang {
        Lang::De => format!(
            "{}: {} Zeilen gelesen, {} übersprungen; Zeitraum {period}; Ämter: {}{}",
            u.kind,
            u.parsed.rows,
            u.skipped,
            offices.into_iter().collect::<Vec<_>>().join(", "),
            u.encoding
                .map(|e| format!("; Kodierung {}", e.label()))
                .unwrap_or_default()
        ),
        Lang::En => format!(
            "{}: {} rows read, {} skipped; period {period}; offices: {}{}",
            u.kind,
            u.parsed.rows,
            u.skipped,
            offices.into_iter().collect::<Vec<_>>().join(", "),
            u.encoding
                .map(|e| format!("; encoding {}", e.label()))
                .unwrap_or_default()
        ),
    };
    for n in &u.notices {
        s.push_str("\n  ");
        s.push_str(n.text(lang));
    }
    s
}

/// Reads a password: without echo from a terminal, else the first line of standard input.
fn read_password(lang: Lang) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        eprint!("{}", lang.pick("Passwort: ", "Password: "));
        rpassword::read_password()?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    Ok(password)
}

#[cfg(test)]
mod tests {
    /// The option set for short commands is mimalloc's purge delay, whose default is 1000 ms
    /// (unless the environment sets it).
    #[test]
    fn the_option_kept_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads an integer option.
            let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
            assert_eq!(delay, 1000);
        }
    }
}
