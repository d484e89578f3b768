-- Plays of 30 s or more, joined to who listened. Age is the listener's age on the day of the
-- play. Days are UTC days whatever the machine's time zone.
with counted as (
    select
        podcast_id,
        cast(timezone('UTC', played_at) as date) as day,
        listener_id,
        seconds_played
    from plays
    where counted
)
select
    c.podcast_id,
    c.day,
    case
        when u.birth_year is null then 'unknown'
        when year(c.day) - u.birth_year < 18 then 'under 18'
        when year(c.day) - u.birth_year < 25 then '18-24'
        when year(c.day) - u.birth_year < 35 then '25-34'
        when year(c.day) - u.birth_year < 45 then '35-44'
        when year(c.day) - u.birth_year < 55 then '45-54'
        when year(c.day) - u.birth_year < 65 then '55-64'
        else '65+'
    end as age_band,
    coalesce(u.region, 'unknown') as region,
    count(*) as plays,
    count(distinct c.listener_id) as listeners,
    round(sum(c.seconds_played) / 60.0, 1) as minutes_played
from counted as c
left join profiles as u on u.user_id = c.listener_id
group by all
