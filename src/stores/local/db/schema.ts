/**
 * The SQL schema of the store database: Nix 2.8's schema 10, and tsnix's
 * FailedPaths table.
 *
 * The DDL is Nix's own `schema.sql` text (column order, constraints, index and
 * trigger names identical), so a database written by tsnix is opened by Nix 2.8
 * and vice versa. FailedPaths is not part of a new database: it is created
 * when a failed path is first recorded (a database that never recorded one
 * stays exactly Nix's), and Nix ignores it.
 *
 * @since 0.1.0
 */

/** The schema version this module creates and the newest it understands. */
export const currentSchemaVersion = 10

/** The oldest version an upgrade can start from (Nix 0.12's text-file database). */
export const oldestUpgradableVersion = 5

/** Statements creating Nix's schema-10 tables, indexes and trigger (idempotent); no FailedPaths. */
export const schemaStatements: ReadonlyArray<string> = [
  `create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer, -- null implies "false"
    sigs             text, -- space-separated
    ca               text -- if not null, an assertion that the path is content-addressed; see ValidPathInfo
)`,
  `create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
)`,
  `create index if not exists IndexReferrer on Refs(referrer)`,
  `create index if not exists IndexReference on Refs(reference)`,
  `create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end`,
  `create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null, -- symbolic output id, usually "out"
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
)`,
  `create index if not exists IndexDerivationOutputs on DerivationOutputs(path)`
]

/** The FailedPaths table (schema 6..8 had it; Nix 2.8 dropped it; tsnix creates it on first use). */
export function failedPathsStatement(): string {
  return `create table if not exists FailedPaths (
    path text primary key not null,
    time integer not null
)`
}

/** Whether the database has the FailedPaths table (one row: `n` = 0 or 1). */
export const hasFailedPathsQuery =
  "select count(*) as n from sqlite_master where type = 'table' and name = 'FailedPaths'"

/** Columns Nix added to ValidPaths after schema 6, with their types, in order. */
export const laterValidPathsColumns: ReadonlyArray<readonly [name: string, type: string]> = [
  ["narSize", "integer"],
  ["ultimate", "integer"],
  ["sigs", "text"],
  ["ca", "text"]
]
