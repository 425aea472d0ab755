"""geo tables: streets, communities, duty grids, unit cells, roads, addresses, components

Revision ID: 0002_geo
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_geo"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TABLES = ("geo_components", "geo_addresses", "geo_roads", "geo_cells", "geo_duty_grids", "geo_communities",
          "geo_streets")


def upgrade() -> None:
    op.create_table(
        "geo_streets",
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("dept_code", sa.String(length=32), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_geo_streets")),
    )
    op.create_table(
        "geo_communities",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("dept_code", sa.String(length=32), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_geo_communities")),
    )
    op.create_index(op.f("ix_geo_communities_street_code"), "geo_communities", ["street_code"], unique=False)
    op.create_table(
        "geo_duty_grids",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("inspector", sa.String(length=64), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_geo_duty_grids")),
    )
    op.create_index(op.f("ix_geo_duty_grids_inspector"), "geo_duty_grids", ["inspector"], unique=False)
    op.create_table(
        "geo_cells",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("duty_grid", sa.String(length=32), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_geo_cells")),
    )
    op.create_index(op.f("ix_geo_cells_community_code"), "geo_cells", ["community_code"], unique=False)
    op.create_index(op.f("ix_geo_cells_duty_grid"), "geo_cells", ["duty_grid"], unique=False)
    op.create_table(
        "geo_roads",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_geo_roads")),
    )
    op.create_table(
        "geo_addresses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("road", sa.String(length=50), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("cell_code", sa.String(length=15), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_addresses")),
    )
    op.create_index(op.f("ix_geo_addresses_cell_code"), "geo_addresses", ["cell_code"], unique=False)
    op.create_index(op.f("ix_geo_addresses_name"), "geo_addresses", ["name"], unique=False)
    op.create_index(op.f("ix_geo_addresses_road"), "geo_addresses", ["road"], unique=False)
    op.create_table(
        "geo_components",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("class_code", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("authority_dept", sa.String(length=32), nullable=True),
        sa.Column("owner_dept", sa.String(length=32), nullable=True),
        sa.Column("maintainer_dept", sa.String(length=32), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("cell_code", sa.String(length=15), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_components")),
    )
    op.create_index(op.f("ix_geo_components_cell_code"), "geo_components", ["cell_code"], unique=False)
    op.create_index(op.f("ix_geo_components_class_code"), "geo_components", ["class_code"], unique=False)

def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
