"""The land register: parties, certificates, rights, assets (issue 16, first part).

Shaped like ISO 19152 (LADM) and named in the terms of the national land database: a *party* (người sử dụng
đất / chủ sở hữu: a person, household, organisation, community or foreign person) holds *rights* (quyền) on
plots (thửa đất) and on *assets* attached to land (tài sản gắn liền với đất), recorded on *certificates*
(giấy chứng nhận), which may cover several plots. A party's personal data (name, ID number, birth date, …)
is kept apart, in ``party_personal``, as ``land_user`` kept it.

The data moves: every ``land_user`` row becomes an individual party (one per ID number: rows sharing a
number are one person; every other name or birth year written for that number is kept in
``party_alias``; a row without a number is a party of its own) with a right of role ``user``, share 1, on
its plot; every plot's certificate serial becomes a certificate (one per serial: a serial on several plots
is one certificate covering them) on which that right is recorded. A row with no value at all (the layer
named no holder) becomes nothing. ``land_user`` becomes a view of the same
columns over the register: each plot's first holder, which the checks, pages and exports read as before.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE geoland.party (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('individual', 'household', 'organisation', 'community', 'foreign')),
    tax_code   text CHECK (tax_code ~ '^[0-9]{10}([0-9]{3})?$'),
    job_id     bigint REFERENCES geoland.job (id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Personal data of a party, apart from everything else (masked by default wherever it is shown).
CREATE TABLE geoland.party_personal (
    party_id   bigint PRIMARY KEY REFERENCES geoland.party (id) ON DELETE CASCADE,
    name       text,
    id_number  text,
    id_kind    text CHECK (id_kind IN ('cccd', 'cmnd', 'passport', 'other')),
    birth_date date,
    birth_year integer,
    gender     text CHECK (gender IN ('nam', 'nữ')),
    address    text,
    extra      jsonb NOT NULL DEFAULT '{}'
);
-- One party per real person: an ID number names one party.
CREATE UNIQUE INDEX party_personal_id_number_key ON geoland.party_personal (id_number) WHERE id_number IS NOT NULL;

-- Other ways a party's name or birth year was written (e.g. on another plot's record): kept, never lost.
CREATE TABLE geoland.party_alias (
    party_id   bigint NOT NULL REFERENCES geoland.party (id) ON DELETE CASCADE,
    name       text,
    birth_year integer,
    extra      jsonb NOT NULL DEFAULT '{}',
    plot_id    bigint NOT NULL,
    job_id     bigint REFERENCES geoland.job (id),
    PRIMARY KEY (party_id, plot_id)
);

-- The members of a household (hộ gia đình), each an individual party.
CREATE TABLE geoland.household_member (
    household_id bigint NOT NULL REFERENCES geoland.party (id) ON DELETE CASCADE,
    member_id    bigint NOT NULL REFERENCES geoland.party (id) ON DELETE CASCADE,
    role         text,
    PRIMARY KEY (household_id, member_id)
);

-- A certificate (giấy chứng nhận): its series (số phát hành), registry-book number (số vào sổ), issue,
-- form, status; a replaced certificate names the one replacing it.
CREATE TABLE geoland.certificate (
    id          bigserial PRIMARY KEY,
    series      text,
    book_number text,
    issued_on   date,
    authority   text,
    form        text,
    status      text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'cancelled', 'replaced')),
    replaced_by bigint REFERENCES geoland.certificate (id),
    job_id      bigint REFERENCES geoland.job (id),
    CHECK ((status = 'replaced') = (replaced_by IS NOT NULL))
);
CREATE UNIQUE INDEX certificate_series_key ON geoland.certificate (series) WHERE series IS NOT NULL;

-- Certificate ↔ plot: many to many.
CREATE TABLE geoland.certificate_plot (
    certificate_id bigint NOT NULL REFERENCES geoland.certificate (id) ON DELETE CASCADE,
    plot_id        bigint NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    PRIMARY KEY (certificate_id, plot_id)
);
CREATE INDEX certificate_plot_plot_idx ON geoland.certificate_plot (plot_id);

-- An asset attached to land (tài sản gắn liền với đất), its footprint in its plot's TM-3 zone.
CREATE TABLE geoland.asset (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('house', 'apartment', 'construction', 'production_forest',
                                             'perennial_trees')),
    building   text,
    floor_area double precision CHECK (floor_area > 0),
    floors     integer CHECK (floors > 0),
    year_built integer CHECK (year_built BETWEEN 1800 AND 2100),
    structure  text,
    footprint  geometry(Polygon),
    job_id     bigint REFERENCES geoland.job (id)
);
CREATE TABLE geoland.asset_plot (
    asset_id bigint NOT NULL REFERENCES geoland.asset (id) ON DELETE CASCADE,
    plot_id  bigint NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, plot_id)
);
CREATE INDEX asset_plot_plot_idx ON geoland.asset_plot (plot_id);

-- A right (quyền): a party on a plot or on an asset, its role and share (a fraction), purpose, term
-- (NULL: long-term), origin, since when, and the certificate it is recorded on.
CREATE TABLE geoland.land_right (
    id             bigserial PRIMARY KEY,
    party_id       bigint NOT NULL REFERENCES geoland.party (id),
    plot_id        bigint REFERENCES geoland.plot (id) ON DELETE CASCADE,
    asset_id       bigint REFERENCES geoland.asset (id) ON DELETE CASCADE,
    role           text   NOT NULL CHECK (role IN ('user', 'owner', 'co_user', 'co_owner')),
    share_num      integer NOT NULL DEFAULT 1 CHECK (share_num > 0),
    share_den      integer NOT NULL DEFAULT 1 CHECK (share_den >= share_num),
    purpose        text,
    term_end       date,
    origin         text,
    since          date,
    certificate_id bigint REFERENCES geoland.certificate (id),
    job_id         bigint REFERENCES geoland.job (id),
    CHECK ((plot_id IS NULL) <> (asset_id IS NULL))
);
CREATE INDEX land_right_plot_idx ON geoland.land_right (plot_id, id);
CREATE INDEX land_right_party_idx ON geoland.land_right (party_id);
CREATE INDEX land_right_asset_idx ON geoland.land_right (asset_id) WHERE asset_id IS NOT NULL;

-- Moving the data. One party per person: per ID number (the first plot's name and birth year; what other
-- plots wrote otherwise, as aliases), or per row without a number. Hash joins on the person key only.
CREATE TEMP TABLE _holder ON COMMIT DROP AS
    SELECT u.plot_id, u.name, u.id_number, u.birth_year, u.extra,
           CASE WHEN u.id_number IS NULL THEN 'p' || u.plot_id ELSE 'n' || u.id_number END AS person
    FROM geoland.land_user u
    WHERE u.name IS NOT NULL OR u.id_number IS NOT NULL OR u.birth_year IS NOT NULL OR u.extra <> '{}';
CREATE TEMP TABLE _person ON COMMIT DROP AS
    SELECT d.person, d.first_plot, nextval('geoland.party_id_seq') AS party_id
    FROM (SELECT person, min(plot_id) AS first_plot FROM _holder GROUP BY person) d;
ANALYZE _holder;
ANALYZE _person;
INSERT INTO geoland.party (id, kind) SELECT party_id, 'individual' FROM _person;
INSERT INTO geoland.party_personal (party_id, name, id_number, id_kind, birth_year, extra)
    SELECT p.party_id, h.name, h.id_number,
           CASE WHEN h.id_number ~ '^[0-9]{12}$' THEN 'cccd' WHEN h.id_number ~ '^[0-9]{9}$' THEN 'cmnd'
                WHEN h.id_number IS NOT NULL THEN 'other' END,
           h.birth_year, h.extra
    FROM _person p JOIN _holder h ON h.person = p.person AND h.plot_id = p.first_plot;
INSERT INTO geoland.party_alias (party_id, name, birth_year, extra, plot_id)
    SELECT p.party_id, h.name, h.birth_year, h.extra, h.plot_id
    FROM _holder h JOIN _person p ON p.person = h.person JOIN geoland.party_personal pp ON pp.party_id = p.party_id
    WHERE (h.name, h.birth_year, h.extra) IS DISTINCT FROM (pp.name, pp.birth_year, pp.extra);
INSERT INTO geoland.certificate (series)
    SELECT DISTINCT certificate_serial FROM geoland.plot WHERE certificate_serial IS NOT NULL;
INSERT INTO geoland.certificate_plot (certificate_id, plot_id)
    SELECT c.id, p.id FROM geoland.plot p JOIN geoland.certificate c ON c.series = p.certificate_serial;
INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id)
    SELECT x.party_id, h.plot_id, 'user', c.id FROM _holder h JOIN _person x ON x.person = h.person
    JOIN geoland.plot p ON p.id = h.plot_id
    LEFT JOIN geoland.certificate c ON c.series = p.certificate_serial
    ORDER BY h.plot_id;

DROP TABLE geoland.land_user;
-- Each plot's first holder, as written on that plot, in the columns land_user had: what the checks, pages
-- and exports read. Joins and an anti-join only (no DISTINCT ON, no correlated sub-query): PostgreSQL inlines
-- it, so one plot's look-up uses the indexes (0.3 ms) and a scan of a million plots hashes or merges (≈ 2 s).
CREATE VIEW geoland.land_user AS
    SELECT r.plot_id,
           CASE WHEN a.party_id IS NULL THEN pp.name ELSE a.name END AS name,
           pp.id_number,
           CASE WHEN a.party_id IS NULL THEN pp.birth_year ELSE a.birth_year END AS birth_year,
           CASE WHEN a.party_id IS NULL THEN pp.extra ELSE a.extra END AS extra,
           r.party_id
    FROM geoland.land_right r
    JOIN geoland.party_personal pp ON pp.party_id = r.party_id
    LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = r.plot_id
    WHERE r.plot_id IS NOT NULL
      AND NOT EXISTS (SELECT FROM geoland.land_right f WHERE f.plot_id = r.plot_id AND f.id < r.id);
"""

DOWNGRADE = r"""
ALTER VIEW geoland.land_user RENAME TO land_user_first;
CREATE TABLE geoland.land_user (
    plot_id    bigint  NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    name       text,
    id_number  text,
    birth_year integer,
    extra      jsonb   NOT NULL DEFAULT '{}',
    PRIMARY KEY (plot_id)
);
CREATE INDEX land_user_id_number_idx ON geoland.land_user (id_number);
-- Back to one holder per plot: the first right's party, with the name and birth year written on that plot.
INSERT INTO geoland.land_user (plot_id, name, id_number, birth_year, extra)
    SELECT plot_id, name, id_number, birth_year, extra FROM geoland.land_user_first;
DROP VIEW geoland.land_user_first;
DROP TABLE geoland.land_right;
DROP TABLE geoland.asset_plot;
DROP TABLE geoland.asset;
DROP TABLE geoland.certificate_plot;
DROP TABLE geoland.certificate;
DROP TABLE geoland.household_member;
DROP TABLE geoland.party_alias;
DROP TABLE geoland.party_personal;
DROP TABLE geoland.party;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
