-- The player retries an upload when it gets no answer, so a play can appear twice in the
-- logs (the very same line): keep one row per play_id.
select distinct on (play_id)
    play_id,
    played_at,
    listener_id,
    podcast_id,
    episode,
    lower(device) as device,
    upper(country) as country,
    ip_address,
    seconds_played,
    seconds_played >= 30 as counted
from player_logs
