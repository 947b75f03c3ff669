"""Seeded townships and a year of periods for the roster's tests and benchmarks (never imported by the service).

``township`` makes the members, duties, absences and wishes of a township's rotation (轮值轮训) as the service's
own facts (``roster.domain.problem.PeriodFacts``); ``year`` solves its periods one after the other, carrying each
roster into the next period's fairness history as the service does, and checks every roster's hard rules on its own.
"""
