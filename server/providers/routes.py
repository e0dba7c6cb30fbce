"""Provider endpoints: providers and their caregivers, contracts, the red and black lists
(published per district as a page and a CSV/XLSX export), fraud holds, settlements and the
annual rating. Each handler parses, calls one flow and answers with one schema."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from schemas.providers import (
    CaregiverProviderIn,
    ContractIn,
    ContractOut,
    DistrictSettlementOut,
    HoldDecisionIn,
    HoldIn,
    HoldOut,
    ListingIn,
    ListingOut,
    ProviderCaregiverOut,
    ProviderIn,
    ProviderOut,
    RatingIn,
    RatingOut,
    RatingSignIn,
    ScopeOut,
    SettlementOut,
    SignalOut,
    StreetProviderOut,
    SubsidyStopIn,
    SubsidyStopOut,
)
from server.auth.principal import Role
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc
from server.providers.flows import (
    contracts,
    fraud,
    lists,
    money,
    rating,
    registry,
    signals,
    stops,
    views,
)
from server.welfare import out as welfare_out
from server.welfare.flows.statements import quarter_in_path

OFFICERS: Final = (Role.ADMIN, Role.DISTRICT_OFFICER)


@doc(response=ProviderOut, status=201)
async def create_provider(request: web.Request) -> web.Response:
    """Register a provider: credit code verified, licence in force (audited)."""
    p = require(request, *OFFICERS)
    body = await parse(request, ProviderIn)
    return ok(await registry.create(platform(request), p, body), 201)


@doc(response=ProviderOut)
async def get_provider(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    return ok(await registry.get(platform(request), p, int_param(request, "provider_id")))


@doc(response=dict)
async def employ(request: web.Request) -> web.Response:
    """A caregiver joins a provider (her past records stay with the one she leaves)."""
    p = require(request, *OFFICERS)
    cid = int_param(request, "caregiver_id")
    body = await parse(request, CaregiverProviderIn)
    return ok(await registry.employ(platform(request), p, caregiver_id=cid, body=body))


@doc(response=ContractOut, status=201)
async def create_contract(request: web.Request) -> web.Response:
    """A street contracts a provider; a fourth at a time is refused (contract.street_full)."""
    p = require(request, *OFFICERS)
    body = await parse(request, ContractIn)
    return ok(await contracts.create(platform(request), p, body), 201)


@doc(response=list[ContractOut])
async def provider_contracts(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    pid = int_param(request, "provider_id")
    return ok(await contracts.of_provider(platform(request), p, pid))


@doc(response=list[StreetProviderOut])
async def street_providers(request: web.Request) -> web.Response:
    """The district's providers for a street's choice: red-listed first."""
    p = require(request, *OFFICERS)
    district, street = request.match_info["district"], request.match_info["street"]
    got = await contracts.street_providers(platform(request), p, district=district, street=street)
    return ok(got)


@doc(response=ListingOut, status=201)
async def create_listing(request: web.Request) -> web.Response:
    """List a provider or caregiver on the red or black list (a black-listed caregiver leaves
    today's plan at once)."""
    p = require(request, *OFFICERS)
    body = await parse(request, ListingIn)
    return ok(await lists.create(platform(request), p, body), 201)


@doc(response=ListingOut)
async def lift_listing(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    return ok(await lists.lift(platform(request), p, int_param(request, "listing_id")))


@doc(response=list[ListingOut])
async def published_lists(request: web.Request) -> web.Response:
    """The district's red and black lists in force today (public)."""
    return ok(await lists.published(platform(request), request.match_info["district"]))


async def published_lists_file(request: web.Request) -> web.Response:
    """The same list as CSV or XLSX (public)."""
    district = request.match_info["district"]
    items = await lists.published(platform(request), district)
    sheet = lists.sheet(district, items)
    return welfare_out.download([sheet], request.match_info["fmt"], "red-black-lists")


@doc(response=HoldOut, status=201)
async def open_hold(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    body = await parse(request, HoldIn)
    return ok(await fraud.open_hold(platform(request), p, body), 201)


@doc(response=HoldOut)
async def decide_hold(request: web.Request) -> web.Response:
    """Uphold (reverse and recover) or dismiss (release) a held record."""
    p = require(request, *OFFICERS)
    hid = int_param(request, "hold_id")
    body = await parse(request, HoldDecisionIn)
    return ok(await fraud.decide(platform(request), p, hid, body))


@doc(response=list[HoldOut])
async def list_holds(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    district = request.match_info["district"]
    return ok(await fraud.holds_of(platform(request), p, district=district))


@doc(response=list[SignalOut])
async def fraud_signals(request: web.Request) -> web.Response:
    """The quarter's records with no arrival proof, or proven by a door card used for many
    visits, not yet held: the officer holds one from its evidence."""
    p = require(request, *OFFICERS)
    district = request.match_info["district"]
    quarter = quarter_in_path(request.match_info["quarter"])
    return ok(await signals.signals_of(platform(request), p, district=district, quarter=quarter))


@doc(response=SubsidyStopOut, status=201)
async def stop_subsidy(request: web.Request) -> web.Response:
    """停发补贴: the elder's services are self-paid from the day on, until lifted (audited)."""
    p = require(request, *OFFICERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, SubsidyStopIn)
    return ok(await stops.create(platform(request), p, eid, body), 201)


@doc(response=SubsidyStopOut)
async def lift_stop(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    return ok(await stops.lift(platform(request), p, int_param(request, "stop_id")))


@doc(response=list[SubsidyStopOut])
async def district_stops(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    return ok(await stops.of_district(platform(request), p, request.match_info["district"]))


@doc(response=SettlementOut)
async def settlement(request: web.Request) -> web.Response:
    """The provider's quarter: gross, recovered, net; satisfaction and complaints."""
    p = require(request, *OFFICERS)
    pid = int_param(request, "provider_id")
    quarter = quarter_in_path(request.match_info["quarter"])
    figures, _ = await money.settlement(platform(request), p, provider_id=pid, quarter=quarter)
    return ok(figures)


async def settlement_file(request: web.Request) -> web.Response:
    """The provider's quarterly settlement as CSV or XLSX, with its totals."""
    p = require(request, *OFFICERS)
    pid = int_param(request, "provider_id")
    quarter = quarter_in_path(request.match_info["quarter"])
    _, sheet = await money.settlement(platform(request), p, provider_id=pid, quarter=quarter)
    name = f"provider-{pid}-settlement-{quarter}"
    return welfare_out.download([sheet], request.match_info["fmt"], name)


@doc(response=DistrictSettlementOut)
async def district_settlement(request: web.Request) -> web.Response:
    """Every provider of the district in a quarter, and the district's totals."""
    p = require(request, *OFFICERS)
    district = request.match_info["district"]
    quarter = quarter_in_path(request.match_info["quarter"])
    return ok(await money.district(platform(request), p, district=district, quarter=quarter))


@doc(response=RatingOut, status=201)
async def compute_rating(request: web.Request) -> web.Response:
    """A draft annual rating from the year's evidence (refused for a year not over)."""
    p = require(request, *OFFICERS)
    body = await parse(request, RatingIn)
    return ok(await rating.compute(platform(request), p, body), 201)


@doc(response=RatingOut)
async def sign_rating(request: web.Request) -> web.Response:
    """The officer signs (a changed grade needs a reason); 不合格 ends the contracts."""
    p = require(request, *OFFICERS)
    rid = int_param(request, "rating_id")
    body = await parse(request, RatingSignIn)
    return ok(await rating.sign(platform(request), p, rid, body))


@doc(response=ScopeOut)
async def scope(request: web.Request) -> web.Response:
    """The districts and streets the caller may open on the providers pages."""
    p = require(request, *OFFICERS)
    return ok(await views.scope(platform(request), p))


@doc(response=list[ProviderOut])
async def district_providers(request: web.Request) -> web.Response:
    """The district's providers, red-listed first."""
    p = require(request, *OFFICERS)
    return ok(await views.of_district(platform(request), p, request.match_info["district"]))


@doc(response=list[ProviderCaregiverOut])
async def provider_caregivers(request: web.Request) -> web.Response:
    """The provider's caregivers with their certificates (valid today or not)."""
    p = require(request, *OFFICERS)
    pid = int_param(request, "provider_id")
    return ok(await views.caregivers_of(platform(request), p, pid))


@doc(response=list[RatingOut])
async def district_ratings(request: web.Request) -> web.Response:
    p = require(request, *OFFICERS)
    return ok(await views.ratings_of(platform(request), p, request.match_info["district"]))


def routes() -> list[web.RouteDef]:
    """The providers URL table."""
    fmt = "{fmt:csv|xlsx}"
    return [
        web.get("/api/v1/provider-scope", scope),
        web.get("/api/v1/districts/{district}/providers", district_providers),
        web.get("/api/v1/providers/{provider_id}/caregivers", provider_caregivers),
        web.get("/api/v1/districts/{district}/provider-ratings", district_ratings),
        web.post("/api/v1/providers", create_provider),
        web.get("/api/v1/providers/{provider_id}", get_provider),
        web.get("/api/v1/providers/{provider_id}/contracts", provider_contracts),
        web.put("/api/v1/caregivers/{caregiver_id}/provider", employ),
        web.post("/api/v1/provider-contracts", create_contract),
        web.get("/api/v1/districts/{district}/streets/{street}/providers", street_providers),
        web.post("/api/v1/provider-listings", create_listing),
        web.post("/api/v1/provider-listings/{listing_id}/lift", lift_listing),
        web.get("/api/v1/districts/{district}/provider-lists", published_lists),
        web.get("/api/v1/districts/{district}/provider-lists." + fmt, published_lists_file),
        web.post("/api/v1/fraud-holds", open_hold),
        web.post("/api/v1/fraud-holds/{hold_id}/decision", decide_hold),
        web.get("/api/v1/districts/{district}/fraud-holds", list_holds),
        web.get("/api/v1/districts/{district}/fraud-signals/{quarter}", fraud_signals),
        web.post("/api/v1/elders/{elder_id}/subsidy-stops", stop_subsidy),
        web.post("/api/v1/subsidy-stops/{stop_id}/lift", lift_stop),
        web.get("/api/v1/districts/{district}/subsidy-stops", district_stops),
        web.get("/api/v1/providers/{provider_id}/settlements/{quarter:\\d{4}Q\\d}", settlement),
        web.get("/api/v1/providers/{provider_id}/settlements/{quarter}." + fmt, settlement_file),
        web.get("/api/v1/districts/{district}/provider-settlements/{quarter}", district_settlement),
        web.post("/api/v1/provider-ratings", compute_rating),
        web.post("/api/v1/provider-ratings/{rating_id}/sign", sign_rating),
    ]
