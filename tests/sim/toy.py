"""A crude stand-in for the driver, for tests only: it turns a Day into a complete RunLog so
that KPIs and the report can be exercised on a whole day. It is no policy: every call goes
to the caregiver the bound names (as if they were idle at their base), visits go in window
order to the first qualified caregiver of the station, lunches leave the kitchen at ready.
"""

from __future__ import annotations

from schemas.hotline import PressOutcome
from sim.bound import bounds, call_trip_key
from sim.day import Day, HelpCall
from sim.log import Activity, CallStep, Recorder, RunLog, Segment, TaskKind, TaskStep

CLOSES_AS = {
    PressOutcome.TEST: "test_press",
    PressOutcome.ACCIDENTAL: "accidental",
    PressOutcome.REAL: "handled_by_phone",
}


def toy_run(day: Day) -> RunLog:
    rec = Recorder()
    for call in day.calls:
        _call(day, rec, call)
    free = {c.id: 0 for c in day.caregivers}
    for v in day.visits:
        team = [c for c in day.team(v.station_id) if v.skill is None or v.skill in c.skills]
        if not team:
            rec.task(v.id, TaskKind.VISIT, 0, TaskStep.MISSED, detail="no_qualified_caregiver")
            continue
        c = min(team, key=lambda c: (free[c.id], c.id))
        ride = day.trip_s(c.id, c.base, v.location, v.window_start_s, f"visit:{v.id}")
        start = max(v.window_start_s, free[c.id] + ride)
        rec.task(v.id, TaskKind.VISIT, 7 * 3600, TaskStep.PLANNED, c.id, v.window_start_s)
        rec.segment(Segment(c.id, start - ride, start, Activity.TRAVEL, v.id, v.location, c.base))
        rec.segment(
            Segment(
                c.id,
                start,
                start + v.actual_s,
                Activity.VISIT,
                v.id,
                v.location,
                interruptible=v.interruptible,
            )
        )
        rec.task(v.id, TaskKind.VISIT, start, TaskStep.STARTED, c.id)
        rec.task(v.id, TaskKind.VISIT, start + v.actual_s, TaskStep.DONE, c.id)
        free[c.id] = start + v.actual_s
    for m in day.meals:
        st = day.station_by_id[m.station_id]
        assert st.kitchen is not None
        courier = day.team(m.station_id)[0]
        ride = day.trip_s(courier.id, st.kitchen.location, m.location, st.kitchen.ready_s, m.id)
        rec.task(m.id, TaskKind.MEAL, st.kitchen.ready_s, TaskStep.PICKED_UP, courier.id)
        rec.task(m.id, TaskKind.MEAL, st.kitchen.ready_s + ride, TaskStep.DONE, courier.id)
    return rec.freeze("toy", day.seed)


def _call(day: Day, rec: Recorder, call: HelpCall) -> None:
    rec.call(call.id, call.at_s, CallStep.PRESSED)
    if call.repeat_of is not None:
        rec.call(call.id, call.at_s, CallStep.JOINED, detail=call.repeat_of)
        return
    if not call.real_emergency:
        back = call.at_s + call.callback_after_s
        rec.call(call.id, back, CallStep.CALLED_BACK, detail=call.outcome.value)
        rec.call(call.id, back, CallStep.CLOSED, detail=CLOSES_AS[call.outcome])
        return
    b = bounds(day)[call.id]
    who = b.caregiver_id
    answer = day.offer_answer(who, call.id) if who is not None else None
    if who is None or b.bound_s is None or answer is None or answer.answer != "accept":
        rec.call(call.id, call.at_s + 90, CallStep.ESCALATED, detail="operator_alarm")
        rec.call(call.id, call.at_s + 300, CallStep.CLOSED, detail="handled_by_operator")
        return
    c = day.caregiver_by_id[who]
    t = call.at_s + 1
    rec.call(call.id, t, CallStep.OFFERED, who)
    accepted = t + answer.after_s
    leave = accepted + answer.depart_after_s
    ride = day.trip_s(who, c.base, call.location, call.at_s, call_trip_key(call.id))
    rec.call(call.id, accepted, CallStep.ACCEPTED, who)
    rec.call(call.id, leave, CallStep.EN_ROUTE, who)
    rec.call(call.id, leave + ride, CallStep.ARRIVED, who)
    rec.call(call.id, leave + ride + call.on_scene_s, CallStep.RESOLVED, who)
    rec.segment(Segment(who, leave, leave + ride, Activity.TRAVEL, call.id, call.location, c.base))
    rec.segment(
        Segment(
            who,
            leave + ride,
            leave + ride + call.on_scene_s,
            Activity.CALL,
            call.id,
            call.location,
            interruptible=False,
        )
    )
