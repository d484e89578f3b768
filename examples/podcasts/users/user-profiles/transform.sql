-- One row per user_registered event. The registration service sends the country only;
-- the commercial region is this domain's knowledge, so it is derived here.
select
    user_id,
    registered_at,
    lower(email) as email,
    birth_year,
    upper(country) as country,
    case upper(country)
        when 'US' then 'North America'
        when 'CA' then 'North America'
        when 'MX' then 'Latin America'
        when 'BR' then 'Latin America'
        when 'AR' then 'Latin America'
        when 'GB' then 'Europe'
        when 'DE' then 'Europe'
        when 'FR' then 'Europe'
        when 'ES' then 'Europe'
        when 'SE' then 'Europe'
        when 'NL' then 'Europe'
        when 'IN' then 'Asia-Pacific'
        when 'JP' then 'Asia-Pacific'
        when 'AU' then 'Asia-Pacific'
        when 'NG' then 'Africa'
        when 'ZA' then 'Africa'
        else 'Other'
    end as region,
    plan,
    platform as signup_platform,
    coalesce(marketing_opt_in, false) as marketing_opt_in
from registrations
where event_type = 'user_registered'
