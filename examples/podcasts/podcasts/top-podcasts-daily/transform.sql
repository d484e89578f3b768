-- Each run sees only the plays published since the last one (one day of logs), so every day
-- is ranked once, from all of its plays.
with daily as (
    select
        cast(timezone('UTC', played_at) as date) as day,
        podcast_id,
        count(*) as plays,
        count(distinct listener_id) as listeners,
        sum(seconds_played) / 3600.0 as hours_played
    from plays
    where counted
    group by all
),
ranked as (
    select
        *,
        row_number() over (partition by day order by plays desc, listeners desc, podcast_id) as rank
    from daily
    qualify rank <= 10
)
select
    r.day,
    r.rank,
    r.podcast_id,
    c.title,
    c.publisher,
    c.category,
    r.plays,
    r.listeners,
    round(r.hours_played, 1) as hours_played
from ranked as r
left join catalog as c on c.podcast_id = r.podcast_id
order by r.day, r.rank
