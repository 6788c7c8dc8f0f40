-- Names customers type for places GeoNames spells otherwise, found by an audit of typed queries: English and
-- French exonyms ("Hanover" was Hanover, Pennsylvania; "Marseilles" Marseilles, Illinois), common short
-- names ("NYC", "Philly", "СПб", "Питер", which was a village of that name in Kostroma oblast) and the usual
-- English form of Rostov-na-Donu. An alias competes with the places of its own spelling; the larger place
-- wins as among namesakes (locator.geocoders.gazetteer._place_match).
INSERT INTO place_aliases (alias, country, place_name) VALUES
    ('NYC', 'US', 'New York'),
    ('New York City', 'US', 'New York'),
    ('LA', 'US', 'Los Angeles'),
    ('SF', 'US', 'San Francisco'),
    ('Philly', 'US', 'Philadelphia'),
    ('Vegas', 'US', 'Las Vegas'),
    ('NOLA', 'US', 'New Orleans'),
    ('Hanover', 'DE', 'Hannover'),
    ('Brunswick', 'DE', 'Braunschweig'),
    ('Mayence', 'DE', 'Mainz'),
    ('Aix-la-Chapelle', 'DE', 'Aachen'),
    ('Francfort', 'DE', 'Frankfurt am Main'),
    ('Marseilles', 'FR', 'Marseille'),
    ('Lyons', 'FR', 'Lyon'),
    ('Strassburg', 'FR', 'Strasbourg'),
    ('Straßburg', 'FR', 'Strasbourg'),
    ('Dunkirk', 'FR', 'Dunkerque'),
    ('Rostov-on-Don', 'RU', 'Ростов-На-Дону'),
    ('Togliatti', 'RU', 'Тольятти'),
    ('СПб', 'RU', 'Санкт-Петербург'),
    ('Spb', 'RU', 'Санкт-Петербург'),
    ('Питер', 'RU', 'Санкт-Петербург'),
    ('Н. Новгород', 'RU', 'Нижний Новгород'),
    ('N. Novgorod', 'RU', 'Нижний Новгород')
ON CONFLICT DO NOTHING;
