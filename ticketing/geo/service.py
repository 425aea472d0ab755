"""The geo use cases over the database: locate a case, routing facts of components, geocoding, map layers.

`SqlGeoLocator` loads the base data once into an in-memory Gazetteer (spatial and name indexes) and serves
every lookup from it; `refresh()` reloads after an import.
"""

from __future__ import annotations

import asyncio
import math
import re

from sqlalchemy.ext.asyncio import AsyncEngine

from core.places import ComponentFacts, Location
from ticketing.geo.domain import geocoder
from ticketing.geo.domain.gazetteer import Gazetteer
from ticketing.geo.domain.geometry import BBox
from ticketing.geo.domain.model import Cell, Component
from ticketing.geo.domain.numerals import normalize
from ticketing.geo.repository import SqlGeoRepository
from ticketing.geo.settings import GeoSettings


def valid_point(lat: float | None, lon: float | None) -> bool:
    """Both coordinates present, finite and inside the WGS-84 range."""
    if lat is None or lon is None:
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


_SENTENCE = re.compile(r"[,.!?;:，。！？；：]")


def _address_text(text: str, label: str) -> str:
    """The caller's text when it is an address containing the canonical label, else the label."""
    clean = normalize(text)
    return clean if label in clean and not _SENTENCE.search(clean) and len(clean) <= 60 else label


class SqlGeoLocator:
    """Where a case is and who owns what is broken there, from the geo tables of `engine`."""

    def __init__(self, engine: AsyncEngine, settings: GeoSettings | None = None) -> None:
        self.settings = settings or GeoSettings()
        self.repository = SqlGeoRepository(engine)
        self._gazetteer: Gazetteer | None = None
        self._area: tuple[Gazetteer, BBox | None] | None = None
        self._lock = asyncio.Lock()

    async def gazetteer(self) -> Gazetteer:
        """The in-memory indexes, loaded from the database on first use."""
        if self._gazetteer is None:
            async with self._lock:
                if self._gazetteer is None:
                    self._gazetteer = await self._build()
        return self._gazetteer

    async def refresh(self) -> Gazetteer:
        """Reload the base data (after an import); lookups in flight keep the old snapshot."""
        async with self._lock:
            self._gazetteer = await self._build()
        return self._gazetteer

    async def _build(self) -> Gazetteer:
        data = await self.repository.load()
        return Gazetteer(data, fuzzy_threshold=self.settings.fuzzy_threshold,
                         county_name=self.settings.county_name)

    async def locate(self, *, address: str | None, lat: float | None, lon: float | None) -> Location | None:
        """A case's location from coordinates (preferred) or from an address or a caller's sentence.

        Coordinates give the cell directly (confidence 1.0; the address is reverse-geocoded when missing).
        Otherwise the best geocoding candidate is used with its confidence; its label (e.g. 海滨东路120号)
        becomes the address unless the text is an address that already contains it (海滨东路120号3楼 stays).
        None when neither yields a place.
        """
        g = await self.gazetteer()
        if lat is not None and lon is not None and valid_point(lat, lon):
            facts = g.place_facts(g.cell_index.locate(lon, lat))
            text = address or geocoder.reverse(g, lon, lat).address
            return Location(lat=lat, lon=lon, address=text, place=facts, confidence=1.0)
        if not address or not address.strip():
            return None
        best = geocoder.forward(g, address).best
        if best is None:
            return None
        return Location(lat=best.lat, lon=best.lon, address=_address_text(address, best.label),
                        place=g.place_facts(best.cell_code), confidence=best.confidence)

    async def component(self, component_id: str) -> ComponentFacts | None:
        """权属/养护 facts of a component by its 16-digit id."""
        found = (await self.gazetteer()).components.get(component_id)
        if found is None:
            return None
        return ComponentFacts(component_id=found.id, class_code=found.class_code,
                              owner_dept_code=found.owner_dept, maintainer_dept_code=found.maintainer_dept,
                              authority_dept_code=found.authority_dept)

    async def geocode(self, text: str, limit: int = 5) -> geocoder.GeocodeResult:
        return geocoder.forward(await self.gazetteer(), text, limit)

    async def reverse(self, lat: float, lon: float) -> geocoder.ReverseResult:
        return geocoder.reverse(await self.gazetteer(), lon, lat)

    async def cell_at(self, lat: float, lon: float) -> Cell | None:
        return (await self.gazetteer()).cell_at(lon, lat)

    async def cells_in(self, bbox: BBox, limit: int = 5000) -> list[Cell]:
        g = await self.gazetteer()
        return [g.cells[code] for code in g.cell_index.intersecting(bbox)[:limit]]

    async def component_object(self, component_id: str) -> Component | None:
        return (await self.gazetteer()).components.get(component_id)

    async def components_near(self, lat: float, lon: float, *, class_code: str | None = None,
                              radius_m: float = 100.0, limit: int = 20) -> list[tuple[float, Component]]:
        return geocoder.nearest_components(await self.gazetteer(), lon, lat, class_code=class_code,
                                           radius_m=radius_m, limit=limit)

    async def duty_grid_of(self, cell_code: str | None) -> tuple[str, str | None] | None:
        """The 责任网格 holding a unit cell: (its code, the inspector who patrols it or None)."""
        g = await self.gazetteer()
        cell = g.cells.get(cell_code or "")
        grid = g.duty_grids.get(cell.duty_grid or "") if cell else None
        return (grid.code, grid.inspector or None) if grid else None

    async def service_area(self) -> BBox | None:
        """The unit grid's bounding box, computed once per loaded snapshot."""
        g = await self.gazetteer()
        if self._area is None or self._area[0] is not g:
            self._area = (g, g.bbox())
        return self._area[1]
