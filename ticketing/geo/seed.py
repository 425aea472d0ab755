"""`seed_demo(engine)`: the name the root `hotline demo seed` command looks for (see ticketing.geo.demo)."""

from ticketing.geo.demo import seed_demo

__all__ = ["seed_demo"]
