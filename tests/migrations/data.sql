-- data.sql: the data set of `pgimg migration-test`.
--
-- Run after prime.sql, in the database `migration` of the old cluster:
--
--   psql -X -v ON_ERROR_STOP=1 -d migration -v scale=N -f data.sql
--
-- It builds a database that uses most of PostgreSQL, so that an upgrade
-- (pg_upgrade, a dump restored by psql, or a plain restart) that loses or
-- changes anything shows up in fingerprint.sql.  The rules it keeps:
--
-- * It runs unchanged on PostgreSQL 13 and every later major.  A feature that
--   is newer than 13 is used only behind a version test (psql \if on the
--   variables set below), so that the old syntax never reaches an old server.
-- * The data is deterministic: every value comes from generate_series and
--   md5() of the row number, never from random(), now() or the clock, so two
--   loads of the same scale on the same image give identical tables.
-- * Objects that need an extension are created only when prime.sql installed
--   that extension; the fingerprint reports the extensions, so a difference in
--   the set shows up there, not as a puzzling table difference.
-- * Roles are cluster-wide and the only objects created idempotently; they
--   start with `mig_`.  Everything else is new in a fresh database.
--
-- Size: at scale 1 (the default) the tables of the schema `mig` take about
-- 65 MB and their indexes 40 MB, and the database with the default
-- extensions about 120 MB; all grow linearly with `scale`.  Most objects
-- live in the schema `mig`; the list of index queries is
-- public.migration_index_queries.

\if :{?scale}
\else
\set scale 1
\endif

-- Settings of this session only: values written as text (timestamps, dates)
-- are read the same way whatever the server's defaults are.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET search_path = public;

-- What this server has.  Each variable is 't' or 'f' and guards a section below.
SELECT current_setting('server_version_num')::int >= 140000 AS pg14,
       current_setting('server_version_num')::int >= 150000 AS pg15,
       current_setting('server_version_num')::int >= 160000 AS pg16,
       current_setting('server_version_num')::int >= 170000 AS pg17,
       current_setting('server_version_num')::int >= 180000 AS pg18,
       EXISTS (SELECT FROM pg_collation WHERE collprovider = 'i') AS has_icu,
       EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
                                         AND 'lz4' = ANY (enumvals)) AS has_lz4,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'btree_gist') AS has_btree_gist,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'btree_gin') AS has_btree_gin,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') AS has_pg_trgm,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'bloom') AS has_bloom,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'vector') AS has_vector,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') AS has_pg_cron,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_partman') AS has_pg_partman,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'postgis') AS has_postgis
\gset

\if :pg14
-- TOASTed values are compressed with pglz unless a column says otherwise,
-- whatever the server's default (13 has no other method and no setting).
SET default_toast_compression = 'pglz';
\endif

---------------------------------------------------------------------------
-- Roles.  Cluster-wide, so they may exist from an earlier load; each is
-- created when missing and then given its attributes, so a second load ends
-- in the same state.  Passwords are given as SCRAM verifiers with a fixed
-- salt, so the stored hash is the same on every load (mig_app's password is
-- `mig-app-password`, mig_admin's `mig-admin-password`).
---------------------------------------------------------------------------
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['mig_owner', 'mig_app', 'mig_reader', 'mig_admin', 'mig_auditor'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
END
$roles$;

ALTER ROLE mig_owner NOLOGIN NOINHERIT;
ALTER ROLE mig_app LOGIN CONNECTION LIMIT 20 VALID UNTIL '2099-12-31 00:00:00+00'
    PASSWORD 'SCRAM-SHA-256$4096:cGdpbWctbWlnLXNhbHQwMQ==$GvqntgSqL4kn+Hq9nsUW6m/7OQIWfpbJpjoADgRSsL0=:AHVel/MNwr/vBHjL9QkxsamHjaS64WiOLyO/YoUC4BU=';
ALTER ROLE mig_reader NOLOGIN;
ALTER ROLE mig_admin LOGIN CREATEDB CREATEROLE BYPASSRLS
    PASSWORD 'SCRAM-SHA-256$4096:cGdpbWctbWlnLXNhbHQwMg==$uoeFwve7FC9FNGYPtqCtDbcK4cJGvEzj/KTobifl6mM=:DdXOwHnbtELl1ngiRg9Ib2dX3K6+3gULeThfwqO0MRc=';
ALTER ROLE mig_auditor NOLOGIN;
GRANT mig_reader TO mig_app WITH ADMIN OPTION;
GRANT mig_owner TO mig_admin;
\if :pg14
GRANT pg_read_all_data TO mig_auditor;
\else
GRANT pg_read_all_stats TO mig_auditor;
\endif
ALTER ROLE mig_app SET work_mem = '8MB';
SELECT current_database() AS dbname \gset
ALTER ROLE mig_app IN DATABASE :"dbname" SET search_path = mig, public;
ALTER DATABASE :"dbname" SET default_statistics_target = 150;
COMMENT ON ROLE mig_owner IS 'owns the schema mig of the migration data set';

---------------------------------------------------------------------------
-- Schema, types, domains, collations, text search, operators, aggregates.
---------------------------------------------------------------------------
CREATE SCHEMA mig AUTHORIZATION mig_owner;
COMMENT ON SCHEMA mig IS 'objects of the pgimg migration data set';

-- Values added after creation get OIDs out of sort order, which pg_upgrade
-- must carry over exactly (enum values are stored as OIDs).
CREATE TYPE mig.mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE mig.mood ADD VALUE 'ecstatic' AFTER 'happy';
ALTER TYPE mig.mood ADD VALUE 'meh' BEFORE 'ok';
CREATE TYPE mig.order_status AS ENUM ('new', 'paid', 'shipped', 'returned');
CREATE TYPE mig.address AS (street text, zip varchar(10), geo point);
CREATE TYPE mig.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE DOMAIN mig.posint AS integer CONSTRAINT posint_positive CHECK (VALUE > 0);
CREATE DOMAIN mig.email AS text CONSTRAINT email_shape CHECK (VALUE ~ '^[^@ ]+@[^@ ]+$');
COMMENT ON TYPE mig.mood IS 'an enum whose later values are out of OID order';
COMMENT ON DOMAIN mig.posint IS 'a positive integer';

CREATE TEXT SEARCH CONFIGURATION mig.plain (COPY = pg_catalog.simple);

CREATE FUNCTION mig.text_ci_eq(a text, b text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT lower(a) = lower(b) $$;
CREATE OPERATOR mig.=~= (LEFTARG = text, RIGHTARG = text, FUNCTION = mig.text_ci_eq,
                         COMMUTATOR = OPERATOR(mig.=~=));
CREATE AGGREGATE mig.concat_sorted(text) (SFUNC = textcat, STYPE = text, INITCOND = '');

\if :has_icu
-- A nondeterministic (case-insensitive) ICU collation and a plain one; a
-- btree index on a column of the first is in the index queries.
CREATE COLLATION mig.icu_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION mig.icu_de (provider = icu, locale = 'de-DE');
\endif

---------------------------------------------------------------------------
-- Functions and a procedure.
---------------------------------------------------------------------------
CREATE FUNCTION mig.normalize_email(p text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog
    AS $$ BEGIN RETURN lower(btrim(p)); END $$;
COMMENT ON FUNCTION mig.normalize_email(text) IS 'used by an expression index';

CREATE FUNCTION mig.customers_touch() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.email_norm := mig.normalize_email(NEW.email);
    RETURN NEW;
END
$$;

CREATE FUNCTION mig.orders_default_note() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.note := coalesce(NEW.note, 'order ' || NEW.id);
    RETURN NEW;
END
$$;

-- A statement trigger with a transition table: one audit row per statement.
CREATE FUNCTION mig.audit_statement() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mig.load_audit (tbl, op, n)
    SELECT TG_TABLE_NAME, TG_OP, count(*) FROM new_rows;
    RETURN NULL;
END
$$;

CREATE FUNCTION mig.secret_sum(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
REVOKE EXECUTE ON FUNCTION mig.secret_sum(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mig.secret_sum(integer, integer) TO mig_app;

-- An event trigger that only logs at DEBUG level, so it never changes what
-- later DDL (the restore, an ALTER EXTENSION UPDATE) does or writes.
CREATE FUNCTION mig.ddl_debug() RETURNS event_trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE DEBUG 'mig: % done', tg_tag;
END
$$;
CREATE EVENT TRIGGER mig_ddl_debug ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION mig.ddl_debug();
COMMENT ON EVENT TRIGGER mig_ddl_debug IS 'logs table DDL at DEBUG level';

---------------------------------------------------------------------------
-- Tables.
---------------------------------------------------------------------------
CREATE TABLE mig.load_audit (
    id  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tbl text NOT NULL,
    op  text NOT NULL,
    n   bigint NOT NULL
);

CREATE PROCEDURE mig.record_load(p_note text)
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mig.load_audit (tbl, op, n) VALUES (p_note, 'CALL', 0);
    COMMIT;
END
$$;

-- Customers: identity BY DEFAULT, unique, check, a BEFORE row trigger, a
-- statement trigger with a transition table, an expression index on a
-- PL/pgSQL function; later a dropped column and a column with a fast default.
CREATE TABLE mig.customers (
    id          bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1 INCREMENT BY 1) PRIMARY KEY,
    name        text NOT NULL,
    legacy_code text,
    email       mig.email NOT NULL,
    email_norm  text,
    country     char(2) NOT NULL DEFAULT 'DE' CONSTRAINT country_code CHECK (country ~ '^[A-Z]{2}$'),
    credit      numeric(12,2) NOT NULL DEFAULT 0 CONSTRAINT credit_nonneg CHECK (credit >= 0),
    created_on  date NOT NULL,
    CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON TABLE mig.customers IS 'customers; orders refer to them';
COMMENT ON COLUMN mig.customers.email_norm IS 'set by the trigger customers_touch';
\if :has_icu
ALTER TABLE mig.customers ADD COLUMN name_ci text COLLATE mig.icu_ci;
ALTER TABLE mig.customers ADD COLUMN name_de text COLLATE mig.icu_de;
\endif
CREATE TRIGGER customers_touch BEFORE INSERT OR UPDATE OF email ON mig.customers
    FOR EACH ROW EXECUTE FUNCTION mig.customers_touch();
CREATE TRIGGER customers_audit AFTER INSERT ON mig.customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mig.audit_statement();

INSERT INTO mig.customers (name, legacy_code, email, country, credit, created_on)
SELECT 'Customer ' || i,
       'L' || md5(i::text),
       'User.' || i || '@Example.COM',
       (ARRAY['DE', 'FR', 'US', 'JP', 'BR'])[1 + i % 5],
       (i % 5000) / 4.0,
       date '2015-01-01' + i % 3000
FROM generate_series(1, 20000 * :scale) AS i;
\if :has_icu
UPDATE mig.customers SET name_ci = upper(name), name_de = 'Kunde ' || id || ' Straße';
\endif
CREATE INDEX customers_email_norm_idx ON mig.customers (mig.normalize_email(email));
CREATE INDEX customers_lower_name_idx ON mig.customers (lower(name));
CREATE STATISTICS mig.customers_country_credit (ndistinct, dependencies, mcv)
    ON country, credit FROM mig.customers;

-- Orders: range partitions by year, one of them subpartitioned by hash, a
-- default partition, and one partition made apart with its own column order
-- and a dropped column, then attached.
CREATE TABLE mig.orders (
    id          bigint NOT NULL,
    customer_id bigint NOT NULL,
    ordered_on  date NOT NULL,
    status      mig.order_status NOT NULL DEFAULT 'new',
    amount      numeric(12,2) NOT NULL CONSTRAINT amount_nonneg CHECK (amount >= 0),
    note        text,
    PRIMARY KEY (id, ordered_on)
) PARTITION BY RANGE (ordered_on);
COMMENT ON TABLE mig.orders IS 'orders, partitioned by the day they were placed';
CREATE TABLE mig.orders_2020 PARTITION OF mig.orders FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE mig.orders_2021 PARTITION OF mig.orders FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
CREATE TABLE mig.orders_2022 PARTITION OF mig.orders FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')
    WITH (fillfactor = 90);
CREATE TABLE mig.orders_2023 (
    note        text,
    scratch     integer,
    amount      numeric(12,2) NOT NULL CONSTRAINT amount_nonneg CHECK (amount >= 0),
    status      mig.order_status NOT NULL DEFAULT 'new',
    ordered_on  date NOT NULL,
    customer_id bigint NOT NULL,
    id          bigint NOT NULL
);
ALTER TABLE mig.orders_2023 DROP COLUMN scratch;
ALTER TABLE mig.orders ATTACH PARTITION mig.orders_2023 FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE mig.orders_2024 PARTITION OF mig.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
    PARTITION BY HASH (id);
CREATE TABLE mig.orders_2024_h0 PARTITION OF mig.orders_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE mig.orders_2024_h1 PARTITION OF mig.orders_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE mig.orders_default PARTITION OF mig.orders DEFAULT;
CREATE TRIGGER orders_default_note BEFORE INSERT ON mig.orders
    FOR EACH ROW EXECUTE FUNCTION mig.orders_default_note();

INSERT INTO mig.orders (id, customer_id, ordered_on, status, amount, note)
SELECT i,
       1 + (i::bigint * 7919) % (20000 * :scale),
       date '2020-01-01' + (i % 1900),
       (enum_range(NULL::mig.order_status))[1 + i % 4],
       ((i * 31) % 100000) / 100.0,
       CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || md5(i::text) END
FROM generate_series(1, 60000 * :scale) AS i;
CREATE INDEX orders_customer_day_idx ON mig.orders (customer_id, ordered_on);
-- Foreign keys are added after the load, as pg_dump does it: one check of
-- the whole table instead of one lookup per inserted row.
ALTER TABLE mig.orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES mig.customers ON DELETE CASCADE;

-- Order lines refer to the partitioned table (a foreign key to a partitioned
-- table needs 12 or later).
CREATE TABLE mig.order_lines (
    order_id   bigint NOT NULL,
    ordered_on date NOT NULL,
    line_no    smallint NOT NULL,
    sku        text NOT NULL,
    qty        mig.posint NOT NULL,
    price      numeric(10,2) NOT NULL,
    line_total numeric(12,2) GENERATED ALWAYS AS (qty * price) STORED,
    PRIMARY KEY (order_id, line_no)
);
INSERT INTO mig.order_lines (order_id, ordered_on, line_no, sku, qty, price)
SELECT o, date '2020-01-01' + (o % 1900), l,
       'SKU-' || lpad(((o * l) % 9973)::text, 5, '0'),
       1 + (o + l) % 9,
       ((o * 13 + l) % 20000) / 100.0
FROM generate_series(1, 60000 * :scale) AS o, generate_series(1, 2) AS l;
ALTER TABLE mig.order_lines ADD CONSTRAINT order_lines_order_fk
    FOREIGN KEY (order_id, ordered_on) REFERENCES mig.orders ON DELETE CASCADE;

-- Samples: one column of nearly every built-in type, an ALWAYS identity and
-- a stored generated column, and indexes of every built-in access method.
CREATE TABLE mig.samples (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code     text NOT NULL,
    label    text COLLATE "C",
    amount   numeric(14,4) NOT NULL,
    ratio    double precision,
    small    smallint,
    real_v   real,
    big      bigint,
    flag     boolean,
    payload  bytea,
    doc      jsonb,
    doc_json json,
    int_arr  integer[],
    tags     text[],
    moods    mig.mood[],
    span     int4range,
    big_span int8range,
    num_span numrange,
    period   tstzrange,
    days     daterange,
    frange   mig.floatrange,
    mood     mig.mood,
    addr     mig.address,
    qty      mig.posint,
    uid      uuid,
    ip       inet,
    net      cidr,
    mac      macaddr,
    mac8     macaddr8,
    dur      interval,
    at       timestamptz,
    at_local timestamp,
    day      date,
    tod      time,
    todtz    timetz,
    body_tsv tsvector,
    query    tsquery,
    x        xml,
    bits     bit(16),
    vbits    bit varying(64),
    pt       point,
    bx       box,
    poly     polygon,
    circ     circle,
    seg      lseg,
    pth      path,
    ln       line,
    lsn      pg_lsn,
    ch       char(8),
    vc       varchar(40),
    total    numeric GENERATED ALWAYS AS (amount * qty) STORED
);
COMMENT ON COLUMN mig.samples.total IS 'stored generated column';

INSERT INTO mig.samples (code, label, amount, ratio, small, real_v, big, flag, payload, doc, doc_json,
                         int_arr, tags, moods, span, big_span, num_span, period, days, frange, mood,
                         addr, qty, uid, ip, net, mac, mac8, dur, at, at_local, day, tod, todtz,
                         body_tsv, query, x, bits, vbits, pt, bx, poly, circ, seg, pth, ln, lsn, ch, vc)
SELECT left(h, 12),
       'sample ' || i,
       ((i::bigint * 7919) % 1000003) / 100.0,
       i / 7.0,
       (i % 32767)::smallint,
       (i % 1000) / 8.0,
       i::bigint * 1000003,
       i % 3 = 0,
       CASE WHEN i % 10 = 0 THEN NULL ELSE decode(h, 'hex') END,
       jsonb_build_object('k', i % 100, 'name', 'n' || i, 'tags', jsonb_build_array(i % 7, i % 11),
                          'nested', jsonb_build_object('a', i % 5, 'b', h), 'f', i / 4.0),
       ('{"b": 1, "a": ' || i || ', "a": "dup"}')::json,
       ARRAY[i % 10, i % 100, i % 1000],
       ARRAY['t' || i % 50, 'u' || i % 20011],
       ARRAY[(enum_range(NULL::mig.mood))[1 + i % 5], 'ok'::mig.mood],
       int4range(i, i + i % 10 + 1),
       int8range(i::bigint * 1000000, i::bigint * 1000000 + 5, '[]'),
       numrange(i / 3.0, i / 2.0 + 1),
       tstzrange(timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute',
                 timestamptz '2020-01-01 01:00:00+00' + i * interval '1 minute'),
       daterange(date '2000-01-01' + i % 5000, date '2000-01-10' + i % 5000),
       mig.floatrange(i / 16.0, i / 16.0 + 0.5),
       (enum_range(NULL::mig.mood))[1 + i % 5],
       ROW('Street ' || i, lpad((i % 100000)::text, 5, '0'), point(i % 360 - 180, i % 180 - 90))::mig.address,
       1 + i % 50,
       h::uuid,
       CASE WHEN i % 4 = 0 THEN ('2001:db8::' || to_hex(i >> 16) || ':' || to_hex(i & 65535))::inet
            ELSE ('10.' || (i >> 16) % 256 || '.' || (i >> 8) % 256 || '.' || i % 256 || '/' || (16 + i % 17))::inet END,
       ('10.' || (i >> 8) % 256 || '.' || i % 256 || '.0/24')::cidr,
       left(h, 12)::macaddr,
       left(h, 16)::macaddr8,
       make_interval(months => i % 13, days => i % 30, secs => (i % 86400) + 0.25),
       timestamptz '2020-01-01 00:00:00+00' + i * interval '37 seconds',
       timestamp '2020-01-01 00:00:00' + i * interval '1 second',
       date '2000-01-01' + i % 10000,
       time '00:00' + (i % 86400) * interval '1 second',
       ((time '00:00' + (i % 86400) * interval '1 second')::text || '+05:30')::timetz,
       to_tsvector('simple', 'w' || i % 10007 || ' x' || i % 101 || ' sample text number ' || i),
       to_tsquery('simple', 'w' || i % 97 || ' & !x' || i % 13),
       xmlelement(name item, xmlattributes(i AS id, left(h, 6) AS h), 'value ' || i),
       (i % 65536)::bit(16),
       (i::bit(32))::bit varying(64),
       point(i % 1000, i / 1000),
       box(point(i % 1000, (i / 1000) % 1000), point(i % 1000 + 1, (i / 1000) % 1000 + 1)),
       polygon(box(point(i % 500, 0), point(i % 500 + 2, 3))),
       circle(point(i % 100, i % 77), 0.5 + i % 10),
       lseg(point(0, i % 10), point(i % 10, 0)),
       path(polygon(box(point(0, 0), point(1 + i % 5, 1)))),
       line(point(0, 0), point(1, 1 + i % 3)),
       (to_hex(i) || '/' || to_hex(i * 16))::pg_lsn,
       lpad(i::text, 8, '0'),
       'vc-' || h
FROM generate_series(1, 15000 * :scale) AS i,
     LATERAL (SELECT md5(i::text) AS h) AS m;

CREATE INDEX samples_code_hash_idx ON mig.samples USING hash (code);
CREATE INDEX samples_doc_idx ON mig.samples USING gin (doc jsonb_path_ops);
CREATE INDEX samples_tsv_idx ON mig.samples USING gin (body_tsv);
CREATE INDEX samples_tags_idx ON mig.samples USING gin (tags);
CREATE INDEX samples_int_arr_idx ON mig.samples USING gin (int_arr);
CREATE INDEX samples_bx_idx ON mig.samples USING gist (bx);
CREATE INDEX samples_period_idx ON mig.samples USING gist (period);
CREATE INDEX samples_pt_idx ON mig.samples USING spgist (pt);
CREATE INDEX samples_ip_idx ON mig.samples USING spgist (ip inet_ops);
CREATE INDEX samples_at_brin_idx ON mig.samples USING brin (at) WITH (pages_per_range = 16);
CREATE INDEX samples_sad_day_idx ON mig.samples (day) WHERE mood = 'sad';
CREATE INDEX samples_uid_idx ON mig.samples (uid) INCLUDE (amount);
CREATE INDEX samples_ch_lsn_idx ON mig.samples (ch DESC, lsn NULLS FIRST);
CREATE UNIQUE INDEX samples_lsn_idx ON mig.samples (lsn);
COMMENT ON INDEX mig.samples_at_brin_idx IS 'BRIN on a column that follows the physical order';
\if :pg14
-- BRIN operator classes new in 14.
CREATE INDEX samples_at_local_brin_idx ON mig.samples USING brin (at_local timestamp_minmax_multi_ops);
CREATE INDEX samples_vc_brin_idx ON mig.samples USING brin (vc text_bloom_ops);
\endif

-- TOAST: compressible text, incompressible bytea and text, and a column
-- stored out of line uncompressed (STORAGE EXTERNAL).
CREATE TABLE mig.documents (
    id    integer PRIMARY KEY,
    title text NOT NULL,
    body  text,
    blob  bytea,
    noise text,
    notes text
);
ALTER TABLE mig.documents ALTER COLUMN notes SET STORAGE EXTERNAL;
\if :has_lz4
-- lz4 compression of TOASTed values (14 and later, when built with lz4).
ALTER TABLE mig.documents ADD COLUMN body_lz4 text COMPRESSION lz4;
\endif
INSERT INTO mig.documents (id, title, body, blob, noise, notes)
SELECT i,
       'Document ' || i,
       repeat('Lorem ipsum dolor sit amet ' || i || ', consectetur adipiscing elit. ', 400),
       (SELECT decode(string_agg(md5(i || ':' || j), '' ORDER BY j), 'hex')
        FROM generate_series(1, 512) AS j),
       (SELECT string_agg(md5(j || '/' || i), '' ORDER BY j) FROM generate_series(1, 128) AS j),
       repeat('n' || i || ' ', 400)
FROM generate_series(1, 500 * :scale) AS i;
\if :has_lz4
UPDATE mig.documents SET body_lz4 = body WHERE id % 2 = 0;
\endif

-- Events: hash partitions.
CREATE TABLE mig.events (
    id        bigint NOT NULL,
    device_id integer NOT NULL,
    kind      text NOT NULL,
    value     double precision,
    attrs     jsonb,
    PRIMARY KEY (device_id, id)
) PARTITION BY HASH (device_id);
CREATE TABLE mig.events_p0 PARTITION OF mig.events FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE mig.events_p1 PARTITION OF mig.events FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE mig.events_p2 PARTITION OF mig.events FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE mig.events_p3 PARTITION OF mig.events FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO mig.events (id, device_id, kind, value, attrs)
SELECT i, i % 997, (ARRAY['boot', 'ping', 'alarm'])[1 + i % 3], i / 3.0,
       CASE WHEN i % 5 = 0 THEN jsonb_build_object('seq', i, 'ok', i % 2 = 0) END
FROM generate_series(1, 60000 * :scale) AS i;

-- Sites: list partitions with a default partition.
CREATE TABLE mig.sites (
    id     integer NOT NULL,
    region text NOT NULL,
    name   text NOT NULL,
    PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE mig.sites_eu PARTITION OF mig.sites FOR VALUES IN ('eu');
CREATE TABLE mig.sites_us PARTITION OF mig.sites FOR VALUES IN ('us', 'ca');
CREATE TABLE mig.sites_other PARTITION OF mig.sites DEFAULT;
INSERT INTO mig.sites
SELECT i, (ARRAY['eu', 'us', 'ca', 'apac', 'latam'])[1 + i % 5], 'site ' || i
FROM generate_series(1, 5000 * :scale) AS i;

-- Inheritance: a parent with rows of its own and two children.
CREATE TABLE mig.vehicles (
    id   integer PRIMARY KEY,
    make text NOT NULL,
    CONSTRAINT make_nonempty CHECK (make <> '')
);
CREATE TABLE mig.cars (doors smallint NOT NULL DEFAULT 4) INHERITS (mig.vehicles);
CREATE TABLE mig.trucks (payload_kg integer, CONSTRAINT payload_positive CHECK (payload_kg > 0) NO INHERIT)
    INHERITS (mig.vehicles);
INSERT INTO mig.vehicles SELECT i, 'make ' || i % 40 FROM generate_series(1, 1000 * :scale) AS i;
INSERT INTO mig.cars (id, make, doors)
SELECT i, 'car ' || i % 30, 2 + i % 3 FROM generate_series(1000 * :scale + 1, 3000 * :scale) AS i;
INSERT INTO mig.trucks (id, make, payload_kg)
SELECT i, 'truck ' || i % 10, 1000 + i FROM generate_series(3000 * :scale + 1, 4000 * :scale) AS i;

-- Every kind of foreign key action, a deferrable foreign key, a deferrable
-- unique constraint, a serial column, and (at the end) a check constraint
-- left NOT VALID over rows that break it.
CREATE TABLE mig.tickets (
    id          serial PRIMARY KEY,
    customer_id bigint REFERENCES mig.customers ON DELETE SET NULL,
    assignee_id bigint DEFAULT 1 REFERENCES mig.customers ON DELETE SET DEFAULT ON UPDATE CASCADE,
    parent_id   integer REFERENCES mig.tickets ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
    slot        integer NOT NULL,
    subject     text NOT NULL,
    CONSTRAINT tickets_slot_key UNIQUE (slot) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO mig.tickets (customer_id, assignee_id, parent_id, slot, subject)
SELECT 1 + (i * 13) % (20000 * :scale), 2 + i % 50, NULLIF(i / 2, 0), i, 'ticket ' || i
FROM generate_series(1, 10000 * :scale) AS i;
-- Shift every slot by one in a single statement: only a deferred unique
-- check allows it.
UPDATE mig.tickets SET slot = slot + 1;
CREATE FUNCTION mig.tickets_touch() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN NEW.subject := upper(NEW.subject); RETURN NEW; END $$;
CREATE TRIGGER tickets_touch BEFORE UPDATE ON mig.tickets
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject) EXECUTE FUNCTION mig.tickets_touch();
ALTER TABLE mig.tickets DISABLE TRIGGER tickets_touch;

-- Exclusion constraints: on a range alone (core GiST), and room plus range
-- when btree_gist is installed.
CREATE TABLE mig.bookings (
    id     integer PRIMARY KEY,
    during tsrange NOT NULL,
    EXCLUDE USING gist (during WITH &&)
);
INSERT INTO mig.bookings
SELECT i, tsrange(timestamp '2024-01-01' + i * interval '1 hour',
                  timestamp '2024-01-01' + i * interval '1 hour' + interval '45 minutes')
FROM generate_series(1, 5000 * :scale) AS i;
\if :has_btree_gist
CREATE TABLE mig.room_bookings (
    id     integer PRIMARY KEY,
    room   integer NOT NULL,
    during tsrange NOT NULL,
    CONSTRAINT room_bookings_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)
);
INSERT INTO mig.room_bookings
SELECT i, i % 20, tsrange(timestamp '2024-01-01' + (i / 20) * interval '1 hour',
                          timestamp '2024-01-01' + (i / 20) * interval '1 hour' + interval '50 minutes')
FROM generate_series(1, 10000 * :scale) AS i;
\endif

-- Row-level security: enabled and forced, permissive and restrictive
-- policies.  (Superusers bypass it, so the fingerprint still sees all rows.)
CREATE TABLE mig.accounts (
    id         integer PRIMARY KEY,
    owner_name name NOT NULL,
    customer_id bigint REFERENCES mig.customers ON DELETE SET NULL,
    balance    numeric(12,2) NOT NULL,
    closed     boolean NOT NULL DEFAULT false
);
INSERT INTO mig.accounts
SELECT i, (ARRAY['mig_app', 'mig_reader', 'mig_admin'])[1 + i % 3], 1 + (i * 3) % (20000 * :scale),
       (i % 10000) - 5000 / 3.0, i % 17 = 0
FROM generate_series(1, 3000 * :scale) AS i;
ALTER TABLE mig.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE mig.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY accounts_own ON mig.accounts FOR ALL TO mig_app
    USING (owner_name = current_user) WITH CHECK (owner_name = current_user);
CREATE POLICY accounts_read ON mig.accounts FOR SELECT TO mig_reader, mig_auditor USING (true);
CREATE POLICY accounts_open ON mig.accounts AS RESTRICTIVE FOR ALL TO PUBLIC USING (NOT closed);
COMMENT ON POLICY accounts_open ON mig.accounts IS 'closed accounts are hidden from everyone';

-- An unlogged table.
CREATE UNLOGGED TABLE mig.session_cache (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);
INSERT INTO mig.session_cache
SELECT 'session:' || i, jsonb_build_object('user', i % 300, 'hits', i)
FROM generate_series(1, 5000 * :scale) AS i;

-- Extension types, one column each when the extension is installed.
CREATE TABLE mig.ext_values (id integer PRIMARY KEY);
INSERT INTO mig.ext_values SELECT i FROM generate_series(1, 2000 * :scale) AS i;
DO $ext$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
            (1, 'hstore',  'h',    'hstore',   $e$hstore(ARRAY['a', 'b'], ARRAY[id::text, md5(id::text)])$e$),
            (2, 'citext',  'ci',   'citext',   $e$('Name' || id)::citext$e$),
            (3, 'ltree',   'path', 'ltree',    $e$('top.n' || id % 10 || '.leaf' || id)::ltree$e$),
            (4, 'cube',    'cb',   'cube',     $e$cube(ARRAY[id, id * 2, id % 7])$e$),
            (5, 'seg',     'sg',   'seg',      $e$(id || ' .. ' || (id + 5))::seg$e$),
            (6, 'postgis', 'geom', 'geometry(Point, 4326)',
                        $e$ST_SetSRID(ST_MakePoint(id % 360 - 180, id % 170 - 85), 4326)$e$)
        ) AS t(ord, ext, col, typ, expr)
        WHERE EXISTS (SELECT FROM pg_extension WHERE extname = t.ext)
        ORDER BY t.ord   -- the column order must be the same on every load
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE mig.ext_values ADD COLUMN %I %s', c.col, c.typ);
            EXECUTE format('UPDATE mig.ext_values SET %I = %s', c.col, c.expr);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'mig: no column of type % (%): %', c.typ, c.ext, SQLERRM;
        END;
    END LOOP;
END
$ext$;

\if :pg14
-- Multiranges, including the one PostgreSQL made for mig.floatrange.
CREATE TABLE mig.schedules (
    id    integer PRIMARY KEY,
    slots int4multirange NOT NULL,
    hours mig.floatmultirange,
    days  datemultirange
);
INSERT INTO mig.schedules
SELECT i, int4multirange(int4range(i, i + 2), int4range(i + 5, i + 7)),
       mig.floatmultirange(mig.floatrange(i / 4.0, i / 4.0 + 1), mig.floatrange(i + 10, i + 11)),
       datemultirange(daterange(date '2024-01-01' + i % 300, date '2024-01-03' + i % 300))
FROM generate_series(1, 2000 * :scale) AS i;
CREATE INDEX schedules_slots_idx ON mig.schedules USING gist (slots);
\endif

\if :pg15
-- UNIQUE NULLS NOT DISTINCT (15 and later).
CREATE TABLE mig.badges (
    id    integer PRIMARY KEY,
    owner integer,
    kind  text,
    CONSTRAINT badges_owner_kind UNIQUE NULLS NOT DISTINCT (owner, kind)
);
INSERT INTO mig.badges SELECT i, NULLIF(i % 100, 0), 'kind ' || i / 100 FROM generate_series(1, 1000) AS i;
\endif

\if :pg18
-- A virtual generated column and a temporal primary key (18 and later).
ALTER TABLE mig.samples ADD COLUMN amount_twice numeric GENERATED ALWAYS AS (amount * 2) VIRTUAL;
\if :has_btree_gist
CREATE TABLE mig.prices (
    sku    text NOT NULL,
    valid  daterange NOT NULL,
    price  numeric(10,2) NOT NULL,
    PRIMARY KEY (sku, valid WITHOUT OVERLAPS)
);
INSERT INTO mig.prices
SELECT 'SKU-' || s, daterange(date '2024-01-01' + m * 30, date '2024-01-01' + (m + 1) * 30), s + m / 10.0
FROM generate_series(1, 200) AS s, generate_series(0, 11) AS m;
\endif
\endif

---------------------------------------------------------------------------
-- Sequences: advanced, set with is_called false, cycled, never used.
---------------------------------------------------------------------------
CREATE SEQUENCE mig.invoice_no START 1000 INCREMENT 7;
SELECT count(nextval('mig.invoice_no')) AS invoice_calls FROM generate_series(1, 1234) \gset
CREATE SEQUENCE mig.fresh_no;
SELECT setval('mig.fresh_no', 500, false) AS fresh_set \gset
CREATE SEQUENCE mig.countdown AS smallint INCREMENT -1 MINVALUE -100 MAXVALUE 100 START 100 CYCLE;
SELECT count(nextval('mig.countdown')) AS countdown_calls FROM generate_series(1, 250) \gset
CREATE SEQUENCE mig.never_used START 42;
COMMENT ON SEQUENCE mig.invoice_no IS 'advanced 1234 times';
\if :pg15
CREATE UNLOGGED SEQUENCE mig.scratch_no;
SELECT nextval('mig.scratch_no') AS scratch_called \gset
\endif

---------------------------------------------------------------------------
-- Views and materialized views.
---------------------------------------------------------------------------
CREATE VIEW mig.customer_totals AS
    SELECT c.id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
    FROM mig.customers c LEFT JOIN mig.orders o ON o.customer_id = c.id
    GROUP BY c.id, c.name;
CREATE VIEW mig.german_customers AS
    SELECT id, name, email, country FROM mig.customers WHERE country = 'DE'
    WITH CASCADED CHECK OPTION;
CREATE VIEW mig.open_accounts WITH (security_barrier) AS
    SELECT id, owner_name, balance FROM mig.accounts WHERE NOT closed;
CREATE RECURSIVE VIEW mig.ticket_depth (id, depth) AS
    SELECT id, 0 FROM mig.tickets WHERE parent_id IS NULL
    UNION ALL
    SELECT t.id, d.depth + 1 FROM mig.tickets t JOIN ticket_depth d ON t.parent_id = d.id;
COMMENT ON VIEW mig.customer_totals IS 'orders per customer';
\if :pg15
CREATE VIEW mig.my_accounts WITH (security_invoker = true) AS
    SELECT id, balance FROM mig.accounts;
\endif
\if :pg14
-- A function with an SQL-standard body (14 and later): its dependencies are
-- recorded, and dumps must order it after the table.
CREATE FUNCTION mig.customer_count(p_country text) RETURNS bigint
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT count(*) FROM mig.customers WHERE country = p_country;
    END;
\endif
CREATE FUNCTION mig.order_total(p_customer bigint) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(sum(amount), 0) FROM mig.orders WHERE customer_id = p_customer $$;

---------------------------------------------------------------------------
-- Ownership, grants, column grants, default privileges.
---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA mig TO mig_app, mig_reader, mig_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA mig TO mig_reader;
GRANT SELECT, INSERT, UPDATE ON mig.customers, mig.orders, mig.tickets TO mig_app;
GRANT DELETE ON mig.tickets TO mig_app WITH GRANT OPTION;
GRANT SELECT (id, name, country), UPDATE (name) ON mig.customers TO mig_auditor;
GRANT REFERENCES (id) ON mig.customers TO mig_admin;
GRANT USAGE, SELECT ON SEQUENCE mig.invoice_no TO mig_app;
GRANT USAGE ON TYPE mig.mood TO mig_app;
REVOKE USAGE ON DOMAIN mig.email FROM PUBLIC;
GRANT USAGE ON DOMAIN mig.email TO mig_app, mig_owner;
GRANT CREATE, TEMPORARY ON DATABASE :"dbname" TO mig_admin;
ALTER TABLE mig.tickets OWNER TO mig_owner;
ALTER TABLE mig.documents OWNER TO mig_owner;
ALTER FUNCTION mig.order_total(bigint) OWNER TO mig_owner;
\if :pg17
GRANT MAINTAIN ON mig.customers TO mig_admin;
\endif

-- Tables made by mig_owner pick up its default privileges.
ALTER DEFAULT PRIVILEGES FOR ROLE mig_owner IN SCHEMA mig GRANT SELECT ON TABLES TO mig_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE mig_owner IN SCHEMA mig GRANT SELECT, UPDATE ON SEQUENCES TO mig_app;
ALTER DEFAULT PRIVILEGES FOR ROLE mig_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE mig_owner GRANT EXECUTE ON FUNCTIONS TO mig_app;
SET ROLE mig_owner;
CREATE TABLE mig.owner_notes (
    id   integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    note text NOT NULL
);
INSERT INTO mig.owner_notes (note) SELECT 'note ' || i FROM generate_series(1, 100) AS i;
CREATE FUNCTION mig.owner_note_count() RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT count(*) FROM mig.owner_notes $$;
RESET ROLE;

---------------------------------------------------------------------------
-- Large objects with fixed OIDs: small, about 1 MB incompressible,
-- compressible, and empty; one with another owner and grants.
---------------------------------------------------------------------------
SELECT lo_from_bytea(910001, convert_to('a small large object', 'UTF8')) AS lo1,
       lo_from_bytea(910002, (SELECT decode(string_agg(md5('lo:' || i), '' ORDER BY i), 'hex')
                              FROM generate_series(1, 65536) AS i)) AS lo2,
       lo_from_bytea(910003, convert_to(repeat('compressible ', 20000), 'UTF8')) AS lo3,
       lo_from_bytea(910004, '') AS lo4
\gset
ALTER LARGE OBJECT 910003 OWNER TO mig_owner;
GRANT SELECT ON LARGE OBJECT 910003 TO mig_reader;
GRANT SELECT, UPDATE ON LARGE OBJECT 910001 TO mig_app;
COMMENT ON LARGE OBJECT 910002 IS 'one MiB of md5 output';

---------------------------------------------------------------------------
-- Publications.
---------------------------------------------------------------------------
CREATE PUBLICATION mig_pub FOR TABLE mig.customers, mig.orders, mig.events
    WITH (publish = 'insert, update', publish_via_partition_root = true);
\if :pg15
-- Inserts only: a publication of updates would make every UPDATE of a
-- table without a replica identity fail, and a row filter or column list
-- must then cover the replica identity.
CREATE PUBLICATION mig_pub_schema FOR TABLES IN SCHEMA mig WITH (publish = 'insert, truncate');
CREATE PUBLICATION mig_pub_filtered FOR TABLE mig.tickets (id, slot, subject) WHERE (slot > 100)
    WITH (publish = 'insert');
\endif

---------------------------------------------------------------------------
-- Objects that belong to extensions.
---------------------------------------------------------------------------
\if :has_btree_gin
CREATE INDEX samples_small_gin_idx ON mig.samples USING gin (small);
\endif
\if :has_btree_gist
CREATE INDEX samples_big_gist_idx ON mig.samples USING gist (big);
\endif
\if :has_pg_trgm
CREATE INDEX samples_label_trgm_idx ON mig.samples USING gin (label gin_trgm_ops);
CREATE INDEX customers_name_trgm_idx ON mig.customers USING gist (name gist_trgm_ops);
\endif
\if :has_bloom
-- bloom has operator classes for int4 and text only.
CREATE INDEX samples_bloom_idx ON mig.samples USING bloom ((small::integer), (qty::integer)) WITH (length = 80);
\endif
\if :has_postgis
CREATE INDEX ext_values_geom_idx ON mig.ext_values USING gist (geom);
\endif

\if :has_vector
-- The index queries ask for the 5 nearest neighbours of row 1's vector,
-- written out so that the plan shows no index but the vector one.  Rows 1
-- to 5 form a small group far from every other row (no other row has a
-- negative coordinate), spaced so that their distances to row 1, by L2 and
-- by cosine, clearly differ.  So the approximate HNSW and IVFFlat answers are
-- the exact one whatever graph or lists a build made: both builds are
-- random, and a restored dump rebuilds them.  The other rows lie in 50
-- clusters.
CREATE TABLE mig.embeddings (
    id        integer PRIMARY KEY,
    embedding vector(16) NOT NULL
);
INSERT INTO mig.embeddings
SELECT i, (SELECT array_agg(CASE WHEN i <= 5 THEN
                                 CASE WHEN k <= 2 THEN -10 WHEN k = 3 THEN (i - 1) * 0.3 ELSE 0 END
                            ELSE ((i % 50) * 37 + k * 11) % 100 / 10.0
                                 + CASE WHEN k = 1 THEN (i / 50) * 0.001 / :scale ELSE 0 END
                            END ORDER BY k)
           FROM generate_series(1, 16) AS k)::vector
FROM generate_series(1, 10000 * :scale) AS i;
CREATE INDEX embeddings_hnsw_idx ON mig.embeddings USING hnsw (embedding vector_l2_ops)
    WITH (m = 16, ef_construction = 64);
CREATE INDEX embeddings_ivfflat_idx ON mig.embeddings USING ivfflat (embedding vector_cosine_ops)
    WITH (lists = 10);
\endif

\if :has_pg_cron
SELECT cron.schedule('mig-vacuum', '0 3 * * *', 'VACUUM') AS cron_job \gset
\endif

\if :has_pg_partman
-- A partition set by id (not by time, which would depend on the day of the
-- load): partitions of 10000 ids, made ahead by pg_partman's premake.
-- prime.sql put pg_partman in the schema partman.
CREATE TABLE mig.partman_log (
    id      bigint NOT NULL,
    message text NOT NULL
) PARTITION BY RANGE (id);
DO $partman$
BEGIN
    IF (SELECT split_part(extversion, '.', 1)::int FROM pg_extension WHERE extname = 'pg_partman') >= 5 THEN
        PERFORM partman.create_parent(p_parent_table := 'mig.partman_log', p_control := 'id',
                                      p_interval := '10000');
    ELSE
        -- pg_partman 4 takes the partitioning type as an argument.
        PERFORM partman.create_parent(p_parent_table := 'mig.partman_log', p_control := 'id',
                                      p_type := 'native', p_interval := '10000');
    END IF;
END
$partman$;
INSERT INTO mig.partman_log SELECT i, 'message ' || i FROM generate_series(1, 35000) AS i;
\endif

---------------------------------------------------------------------------
-- Changes after the load: ON DELETE actions, a dropped column, a column
-- added with a default (stored as a "missing value", not in the rows), rows
-- updated in place.
---------------------------------------------------------------------------
DELETE FROM mig.customers WHERE id % 1000 = 999;
ALTER TABLE mig.customers DROP COLUMN legacy_code;
ALTER TABLE mig.customers ADD COLUMN tier text NOT NULL DEFAULT 'basic';
UPDATE mig.customers SET tier = 'gold' WHERE id % 10 = 0;
ALTER TABLE mig.samples DROP COLUMN vbits;
CALL mig.record_load('data.sql');
-- Checked only for rows written from now on; older rows break it.
ALTER TABLE mig.tickets ADD CONSTRAINT tickets_subject_short CHECK (length(subject) < 11) NOT VALID;

CREATE MATERIALIZED VIEW mig.daily_totals AS
    SELECT ordered_on, count(*) AS orders, sum(amount) AS amount
    FROM mig.orders GROUP BY ordered_on
    WITH DATA;
CREATE UNIQUE INDEX daily_totals_day_idx ON mig.daily_totals (ordered_on);
CREATE MATERIALIZED VIEW mig.never_refreshed AS
    SELECT country, count(*) AS n FROM mig.customers GROUP BY country
    WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mig.daily_totals IS 'populated';
GRANT SELECT ON mig.daily_totals TO mig_app;

---------------------------------------------------------------------------
-- One query per index access method (and per extension index), each
-- returning a few rows in a fixed order.  fingerprint.sql runs each with
-- enable_seqscan off, hashes its result and checks that the plan uses an
-- index.  A row is added only when its index exists.
---------------------------------------------------------------------------
CREATE TABLE public.migration_index_queries (
    name  text PRIMARY KEY,
    query text NOT NULL
);
COMMENT ON TABLE public.migration_index_queries IS
    'one query per index kind, checked by pgimg migration-test before and after the upgrade';
INSERT INTO public.migration_index_queries VALUES
    ('btree', $q$SELECT id, code FROM mig.samples WHERE id BETWEEN 1000 AND 1004 ORDER BY id$q$),
    ('btree-partial', $q$SELECT id, day FROM mig.samples WHERE mood = 'sad' AND day = date '2000-01-01' + 1275 ORDER BY id$q$),
    ('btree-expression', $q$SELECT id, name FROM mig.customers WHERE lower(name) = 'customer 4242' ORDER BY id$q$),
    ('btree-function', $q$SELECT id, email FROM mig.customers WHERE mig.normalize_email(email) = 'user.77@example.com' ORDER BY id$q$),
    ('btree-multicolumn', $q$SELECT id, ordered_on, amount FROM mig.orders WHERE customer_id = 4242 AND ordered_on < date '2023-01-01' ORDER BY id$q$),
    ('btree-include', $q$SELECT uid, amount FROM mig.samples WHERE uid = md5('4242')::uuid ORDER BY uid$q$),
    ('hash', $q$SELECT id, code FROM mig.samples WHERE code = left(md5('12345'), 12) ORDER BY id$q$),
    ('gin-jsonb', $q$SELECT id, doc->>'name' FROM mig.samples WHERE doc @> '{"name": "n4242"}' ORDER BY id$q$),
    ('gin-tsvector', $q$SELECT id, label FROM mig.samples WHERE body_tsv @@ to_tsquery('simple', 'w4242 & sample') ORDER BY id$q$),
    ('gin-array', $q$SELECT id, tags FROM mig.samples WHERE tags @> ARRAY['u4242'] ORDER BY id$q$),
    ('gin-intarray', $q$SELECT id FROM mig.samples WHERE int_arr OPERATOR(pg_catalog.@>) ARRAY[424] ORDER BY id$q$),
    ('gist-box', $q$SELECT id, bx FROM mig.samples WHERE bx && box '(10,10),(12,12)' ORDER BY id$q$),
    ('gist-range', $q$SELECT id FROM mig.samples WHERE period @> timestamptz '2020-01-03 00:00:00+00' ORDER BY id$q$),
    ('gist-exclusion', $q$SELECT id, during FROM mig.bookings WHERE during && tsrange('2024-02-01', '2024-02-01 03:00') ORDER BY id$q$),
    ('spgist-point', $q$SELECT id, pt FROM mig.samples WHERE pt <@ box '(10,10),(12,12)' ORDER BY id$q$),
    ('spgist-inet', $q$SELECT id, ip FROM mig.samples WHERE ip << inet '10.0.42.16/28' ORDER BY id$q$),
    ('brin', $q$SELECT id, at FROM mig.samples WHERE at BETWEEN timestamptz '2020-01-05 00:00:00+00' AND timestamptz '2020-01-05 00:03:00+00' ORDER BY id$q$);
\if :has_icu
CREATE INDEX customers_name_ci_idx ON mig.customers (name_ci);
INSERT INTO public.migration_index_queries VALUES
    ('btree-icu', $q$SELECT id, name_ci FROM mig.customers WHERE name_ci = 'customer 4242' ORDER BY id$q$);
\endif
\if :pg14
INSERT INTO public.migration_index_queries VALUES
    ('brin-minmax-multi', $q$SELECT id, at_local FROM mig.samples WHERE at_local BETWEEN timestamp '2020-01-01 01:00:00' AND timestamp '2020-01-01 01:00:04' ORDER BY id$q$),
    ('brin-bloom', $q$SELECT id, vc FROM mig.samples WHERE vc = 'vc-' || md5('4242') ORDER BY id$q$),
    ('gist-multirange', $q$SELECT id, slots FROM mig.schedules WHERE slots @> 1006 ORDER BY id$q$);
\endif
\if :has_btree_gin
-- The cast matters: btree_gin before 18 has no smallint = integer operator,
-- and the planner would not consider the index for it.
INSERT INTO public.migration_index_queries VALUES
    ('btree_gin', $q$SELECT id, small FROM mig.samples WHERE small = 4242::smallint ORDER BY id$q$);
\endif
\if :has_btree_gist
INSERT INTO public.migration_index_queries VALUES
    ('btree_gist', $q$SELECT id, big FROM mig.samples WHERE big = 4242::bigint * 1000003 ORDER BY id$q$),
    ('btree_gist-exclusion', $q$SELECT id, room FROM mig.room_bookings WHERE room = 7 AND during && tsrange('2024-01-05', '2024-01-05 04:00') ORDER BY id$q$);
\endif
\if :has_pg_trgm
INSERT INTO public.migration_index_queries VALUES
    ('pg_trgm-gin', $q$SELECT id, label FROM mig.samples WHERE label LIKE '%ple 4242%' ORDER BY id$q$),
    ('pg_trgm-gist', $q$SELECT id, name FROM mig.customers WHERE name LIKE '%omer 1234%' ORDER BY id$q$);
\endif
\if :has_bloom
INSERT INTO public.migration_index_queries VALUES
    ('bloom', $q$SELECT id, small, qty FROM mig.samples WHERE small::integer = 4424 AND qty::integer = 25 ORDER BY id$q$);
\endif
\if :has_postgis
INSERT INTO public.migration_index_queries VALUES
    ('postgis-gist', $q$SELECT id, ST_AsText(geom) FROM mig.ext_values WHERE geom && ST_MakeEnvelope(-180, -85, -170, -75, 4326) ORDER BY id$q$);
\endif
\if :has_vector
INSERT INTO public.migration_index_queries VALUES
    ('pgvector-hnsw', $q$SELECT id FROM mig.embeddings ORDER BY embedding <-> '[-10,-10,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5$q$),
    ('pgvector-ivfflat', $q$SELECT id FROM mig.embeddings ORDER BY embedding <=> '[-10,-10,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5$q$);
\endif

ANALYZE;
CHECKPOINT;
