//! The dozen tables of the snapshot and replication tests: the all-types table, a narrow
//! table from generate_series, TOASTed values, an empty table, a table with dropped columns,
//! a partitioned table, a table without a key, quoted names, arrays, REPLICA IDENTITY FULL,
//! and a second schema with a composite key.

/// The tables' names, qualified and quoted as SQL takes them.
pub const TABLES: [&str; 12] = [
    "public.all_types",
    "public.narrow",
    "public.toasted",
    "public.empty",
    "public.dropped",
    "public.parted",
    "public.no_key",
    "public.\"Mixed Case\"",
    "public.arrays",
    "public.full_identity",
    "sales.orders",
    "sales.lines",
];

/// Creates the tables; the all-types table gets `all_types_rows` rows (its fixture creates
/// and fills it in one script), the others none.
pub fn schema(all_types_rows: u32) -> String {
    let all_types = include_str!("../../../scry-pg/fixtures/all_types.sql")
        .replace(":ROWS", &all_types_rows.to_string());
    format!(
        "{all_types};
         CREATE TABLE narrow (id int8 PRIMARY KEY, n int4, t text, ts timestamptz, x numeric,
             b bool, z text);
         CREATE TABLE toasted (id int4 PRIMARY KEY, body text, blob bytea);
         CREATE TABLE empty (id int4 PRIMARY KEY, v text);
         CREATE TABLE dropped (id int4 PRIMARY KEY, gone text, v int8, also_gone int4, w text);
         ALTER TABLE dropped DROP COLUMN gone, DROP COLUMN also_gone;
         CREATE TABLE parted (id int4, region text, amount numeric) PARTITION BY RANGE (id);
         CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (500);
         CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (500) TO (1000);
         CREATE TABLE no_key (id int4, v text);
         CREATE TABLE \"Mixed Case\" (\"Id\" int4 PRIMARY KEY, \"Odd \"\"Name\" text);
         CREATE TABLE arrays (id int4 PRIMARY KEY, ints int4[], texts text[], nums numeric[]);
         CREATE TABLE full_identity (id int4 PRIMARY KEY, v text);
         ALTER TABLE full_identity REPLICA IDENTITY FULL;
         CREATE SCHEMA sales;
         CREATE TABLE sales.orders (id int8 PRIMARY KEY, placed date, total numeric(12, 2));
         CREATE TABLE sales.lines (order_id int8, n int2, sku varchar(20), qty int4,
             PRIMARY KEY (order_id, n));"
    )
}

/// The all-types fixture's INSERT alone, of `rows` rows (for a table `schema` made empty).
pub fn all_types_rows(rows: u32) -> String {
    let script = include_str!("../../../scry-pg/fixtures/all_types.sql");
    let at = script
        .find("INSERT INTO all_types")
        .expect("the fixture fills its table");
    script[at..].replace(":ROWS", &rows.to_string())
}

/// Fills every table but the all-types and empty ones; `narrow_rows` rows of narrow.
pub fn data(narrow_rows: u32) -> String {
    format!(
        "INSERT INTO narrow SELECT g, g % 1000, 'row ' || g || repeat('x', g % 20),
             timestamptz '2024-01-01' + g * interval '1 second', g / 7.0, g % 2 = 0, NULL
             FROM generate_series(1, {narrow_rows}) g;
         INSERT INTO toasted SELECT g, repeat(md5(g::text), 2000),
             decode(repeat(md5((g * 7)::text), 500), 'hex') FROM generate_series(1, 50) g;
         INSERT INTO dropped (id, v, w) SELECT g, g * 3, 'w' || g FROM generate_series(1, 500) g;
         INSERT INTO parted SELECT g, 'r' || (g % 4), g * 1.5 FROM generate_series(0, 999) g;
         INSERT INTO no_key SELECT g % 10, 'v' || g FROM generate_series(1, 100) g;
         INSERT INTO \"Mixed Case\" VALUES (1, 'a'), (2, NULL);
         INSERT INTO arrays SELECT g, ARRAY[g, NULL, -g], ARRAY['a' || g, NULL],
             ARRAY[g / 3.0] FROM generate_series(1, 200) g;
         INSERT INTO full_identity SELECT g, 'f' || g FROM generate_series(1, 10) g;
         INSERT INTO sales.orders SELECT g, date '2024-01-01' + g, g * 9.99
             FROM generate_series(1, 2000) g;
         INSERT INTO sales.lines SELECT g / 3, (g % 3)::int2, 'sku-' || g, g % 7
             FROM generate_series(3, 6000) g;"
    )
}
