"""Foundation: PostGIS, schema geoland, jobs and the append-only audit, administrative units over time,
unit changes (the conversion table) and boundary layers.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public;
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;

CREATE TABLE geoland.job (
    id          bigserial PRIMARY KEY,
    kind        text        NOT NULL,
    params      jsonb       NOT NULL DEFAULT '{}',
    state       text        NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    actor       text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    counts      jsonb       NOT NULL DEFAULT '{}',
    message     text
);

-- Who did what, when: written by every job and every review action; never updated or deleted.
CREATE TABLE geoland.audit_event (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text        NOT NULL,
    action    text        NOT NULL,
    entity    text,
    entity_id text,
    job_id    bigint REFERENCES geoland.job (id),
    detail    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_at_idx ON geoland.audit_event (at);
CREATE INDEX audit_event_entity_idx ON geoland.audit_event (entity, entity_id);

CREATE FUNCTION geoland.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'geoland.% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON geoland.audit_event
    FOR EACH ROW EXECUTE FUNCTION geoland.refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON geoland.audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION geoland.refuse_change();

-- An administrative unit over its period of validity [valid_from, valid_to); NULL = open-ended.
-- Codes are reused (03646 is Chiềng Lề before 2025-07-01 and Tô Hiệu after), so a code is unique only
-- together with its period: the exclusion constraint forbids two overlapping periods for one code.
CREATE TABLE geoland.admin_unit (
    id            bigserial PRIMARY KEY,
    level         text NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    code          text NOT NULL CHECK (code ~ '^[0-9]{2,5}$'),
    name          text NOT NULL,
    unit_type     text,
    province_code text,
    district_code text,
    district_name text,
    valid_from    date,
    valid_to      date,
    job_id        bigint REFERENCES geoland.job (id),
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to),
    EXCLUDE USING gist (level WITH =, code WITH =, daterange(valid_from, valid_to, '[)') WITH &&)
);
CREATE INDEX admin_unit_code_idx ON geoland.admin_unit (level, code);
CREATE INDEX admin_unit_province_idx ON geoland.admin_unit (level, province_code);

-- One row per (old unit, new unit) pair of a reorganisation: the official conversion table.
CREATE TABLE geoland.unit_change (
    id          bigserial PRIMARY KEY,
    old_unit_id bigint NOT NULL REFERENCES geoland.admin_unit (id),
    new_unit_id bigint NOT NULL REFERENCES geoland.admin_unit (id),
    kind        text   NOT NULL
                CHECK (kind IN ('whole', 'partial', 'unchanged', 'renamed', 'retyped', 'other')),
    note        text   NOT NULL,
    effective   date   NOT NULL,
    source      text,
    source_line integer,
    job_id      bigint REFERENCES geoland.job (id),
    UNIQUE (old_unit_id, new_unit_id, effective)
);
CREATE INDEX unit_change_new_idx ON geoland.unit_change (new_unit_id);

-- A boundary layer is one vintage of geometry from one source file; its features are matched to the
-- units valid on its effective date. Loading another file for the same date and provinces supersedes it.
CREATE TABLE geoland.boundary_layer (
    id             bigserial PRIMARY KEY,
    source         text    NOT NULL,
    source_sha256  text    NOT NULL,
    layer_name     text,
    effective      date    NOT NULL,
    code_field     text,
    name_field     text,
    source_crs     text,
    metric_srid    integer NOT NULL,
    feature_count  integer NOT NULL,
    province_codes text[]  NOT NULL DEFAULT '{}',
    superseded_by  bigint REFERENCES geoland.boundary_layer (id),
    job_id         bigint REFERENCES geoland.job (id)
);

CREATE TABLE geoland.unit_boundary (
    id            bigserial PRIMARY KEY,
    layer_id      bigint  NOT NULL REFERENCES geoland.boundary_layer (id),
    feature_index integer NOT NULL,
    unit_id       bigint REFERENCES geoland.admin_unit (id),
    code          text,
    name          text,
    province_code text,
    match         text    NOT NULL CHECK (match IN ('matched', 'unknown_code', 'no_code')),
    geom          geometry(MultiPolygon, 4326) NOT NULL,
    geom_metric   geometry(MultiPolygon)       NOT NULL,
    area_m2       double precision NOT NULL,
    repaired      boolean NOT NULL DEFAULT false,
    repair_note   text,
    attributes    jsonb   NOT NULL DEFAULT '{}',
    UNIQUE (layer_id, feature_index)
);
CREATE INDEX unit_boundary_geom_idx ON geoland.unit_boundary USING gist (geom);
CREATE INDEX unit_boundary_geom_metric_idx ON geoland.unit_boundary USING gist (geom_metric);
CREATE INDEX unit_boundary_unit_idx ON geoland.unit_boundary (unit_id);
"""

DOWNGRADE = r"""
DROP TABLE geoland.unit_boundary;
DROP TABLE geoland.boundary_layer;
DROP TABLE geoland.unit_change;
DROP TABLE geoland.admin_unit;
DROP TABLE geoland.audit_event;
DROP FUNCTION geoland.refuse_change();
DROP TABLE geoland.job;
"""


# PostGIS 3.3 ships the VN-2000 TM-3 zones that EPSG numbered 5896-5899 but not 9205-9218 (added later);
# PROJ knows them all. Register the missing ones the way the shipped ones are written, with the
# EPSG:6960 parameters as TOWGS84, so that ST_Transform works for every provincial zone.
TM3_ZONES = {9205: "103", 9206: "104", 9207: "104.5", 9208: "104.75", 9209: "105.5", 9210: "105.75",
             9211: "106", 9212: "106.25", 9213: "106.5", 9214: "107", 9215: "107.25", 9216: "107.5",
             9217: "108.25", 9218: "108.5"}
TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"


def _zone_name(lon: str) -> str:
    degrees, _, fraction = lon.partition(".")
    minutes = round(float("0." + fraction) * 60) if fraction else 0
    return f"VN-2000 / TM-3 {degrees}-{minutes:02d}"


def _register_tm3_zones():
    for srid, lon in TM3_ZONES.items():
        srtext = (
            f'PROJCS["{_zone_name(lon)}",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,'
            f'298.257223563,AUTHORITY["EPSG","7030"]],TOWGS84[{TOWGS84}],AUTHORITY["EPSG","6756"]],'
            'PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
            'AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],'
            f'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",{lon}],'
            'PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],'
            'PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],'
            f'AXIS["Northing",NORTH],AUTHORITY["EPSG","{srid}"]]'
        )
        proj4 = (f"+proj=tmerc +lat_0=0 +lon_0={lon} +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
                 f"+towgs84={TOWGS84} +units=m +no_defs")
        op.execute(
            "INSERT INTO public.spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            f"VALUES ({srid}, 'EPSG', {srid}, '{srtext}', '{proj4}') ON CONFLICT (srid) DO NOTHING"
        )


def upgrade():
    op.execute(UPGRADE)
    _register_tm3_zones()


def downgrade():
    op.execute(DOWNGRADE)
