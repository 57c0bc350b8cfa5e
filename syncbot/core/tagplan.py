"""The difference between the tags Mailchimp has and the tags the rules ask for
(docs/reference.md, "Mailchimp" and "Safety").

Only managed tags are planned, and only for members whose status may have
its tags changed; everyone else keeps what they have. The plan also carries
the numbers the safety stop needs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from syncbot.core.texts import Say


@dataclass(frozen=True)
class TagPlan:
    adds: dict[str, frozenset[str]] = field(default_factory=dict)  # tag -> member keys
    removes: dict[str, frozenset[str]] = field(default_factory=dict)
    tagged_now: int = 0  # members holding any managed tag now
    losing: int = 0  # members that would lose at least one managed tag

    @property
    def is_empty(self) -> bool:
        return not any(self.adds.values()) and not any(self.removes.values())

    @property
    def removal_fraction(self) -> float:
        return self.losing / self.tagged_now if self.tagged_now else 0.0

    @property
    def total_adds(self) -> int:
        return sum(len(v) for v in self.adds.values())

    @property
    def total_removes(self) -> int:
        return sum(len(v) for v in self.removes.values())

    def without(self, added: Mapping[str, Collection[str]]) -> TagPlan:
        """The plan less the adds made already (``added``: tag → member keys), its numbers
        for the safety stop unchanged."""
        return replace(self, adds={tag: keys.difference(added.get(tag, ()))
                                   for tag, keys in self.adds.items()})


def plan_tags(*, managed: Sequence[str], current: Mapping[str, Collection[str]],
              desired: Mapping[str, Collection[str]], statuses: Mapping[str, str],
              tag_statuses: Collection[str]) -> TagPlan:
    """``current``: tag → member keys holding it now; ``desired``: member key → tags wanted;
    ``statuses``: member key → status, for every member the pull saw."""
    eligible = {key for key, status in statuses.items() if status in tag_statuses}
    wanted: dict[str, set[str]] = {tag: set() for tag in managed}
    for key, tags in desired.items():
        if key in eligible:
            for tag in tags:
                if tag in wanted:
                    wanted[tag].add(key)
    adds, removes = {}, {}
    holders: set[str] = set()
    losing: set[str] = set()
    for tag in managed:
        now = set(current.get(tag, ()))
        holders |= now
        adds[tag] = frozenset(wanted[tag] - now)
        removes[tag] = frozenset((now & eligible) - wanted[tag])
        losing |= removes[tag]
    return TagPlan(adds, removes, tagged_now=len(holders), losing=len(losing))


def apply_plan(current: Mapping[str, Collection[str]], plan: TagPlan) -> dict[str, set[str]]:
    """What each tag's membership becomes once the plan is carried out."""
    result = {tag: set(keys) for tag, keys in current.items()}
    for tag in set(plan.adds) | set(plan.removes):
        result[tag] = (result.get(tag, set()) | plan.adds.get(tag, frozenset())) \
            - plan.removes.get(tag, frozenset())
    return result


def safety_problems(plan: TagPlan, *, max_removal_fraction: float, pulled_members: int,
                    leads_in_sheet: int, say: Say) -> list[str]:
    """Why this run must not write to Mailchimp (docs/reference.md, "Safety"), or [] when it may."""
    problems = pull_problems(pulled_members=pulled_members, leads_in_sheet=leads_in_sheet,
                             say=say)
    if plan.removal_fraction > max_removal_fraction:
        problems.append(say("safety.too_many_removals", losing=plan.losing,
                            tagged=plan.tagged_now, percent=f"{plan.removal_fraction:.0%}",
                            limit=f"{max_removal_fraction:g}"))
    return problems


def pull_problems(*, pulled_members: int, leads_in_sheet: int, say: Say) -> list[str]:
    """The safety stop's reasons that the pull alone gives (known before any lead is scored):
    it brought no members, or fewer than half of the leads the sheet lists."""
    if pulled_members == 0:
        return [say("safety.no_members")]
    if pulled_members < leads_in_sheet / 2:
        return [say("safety.fewer_than_half", pulled=pulled_members, leads=leads_in_sheet)]
    return []
