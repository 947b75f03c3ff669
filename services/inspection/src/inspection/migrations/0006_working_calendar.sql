-- Working days as data: the State Council's holiday arrangement of a year (国务院办公厅关于某年部分节假日安排的通知)
-- as an operator loaded it. A loaded year decides its days before the chinese-calendar package, whose release knows
-- only the years published before it. holidays: days off (weekdays among them are what count); workdays: the
-- make-up days on (调休上班, weekends among them are what count).
CREATE TABLE working_calendar_years (
    year      integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2099),
    holidays  date[] NOT NULL,
    workdays  date[] NOT NULL,
    notice    text NOT NULL,
    loaded_by text NOT NULL,
    loaded_at timestamptz NOT NULL
);

-- A listed task's own deadline counted in days (挂牌督办, "N days"): from which day and how many, so that loading a
-- year counts it again. NULL for a deadline given as a date, or one that follows its cycle.
ALTER TABLE tasks ADD COLUMN listed_from date;
ALTER TABLE tasks ADD COLUMN listed_days integer;
