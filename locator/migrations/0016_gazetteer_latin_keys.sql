-- Russian places typed in Latin letters. GeoNames writes them in Cyrillic, and place_aliases names a handful
-- ("Moscow"); "Nizhny Novgorod", "Rostov-na-Donu" or "Chelyabinsk" were not found. latin_key() spells a name
-- in Latin letters (the English-language convention, BGN/PCGN without its diacritics) and then loosens the
-- spots where the usual spellings differ, so that a Cyrillic name and a Latin query meet on one key:
-- -ий/-ый endings ("Nizhniy", "Nizhny", "Nizhnij"), х as kh or h ("Khabarovsk", "Habarovsk"), е at the start
-- of a word as ye or e ("Yekaterinburg", "Ekaterinburg"). Applied to Latin text it only loosens.
CREATE FUNCTION latin_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(
        regexp_replace(
            replace(
                place_key(
                    translate(
                        replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
                            lower($1),
                            'щ', 'shch'), 'ж', 'zh'), 'х', 'kh'), 'ц', 'ts'), 'ч', 'ch'), 'ш', 'sh'),
                            'ю', 'yu'), 'я', 'ya'), 'ё', 'e'), 'й', 'y'),
                        -- ъ and ь have no letter of their own: translate() drops them
                        'абвгдезиклмнопрстуфыэъь', 'abvgdeziklmnoprstufye')),
                'kh', 'h'),
            '(iy|yy|ij|ii|yi)\M', 'y', 'g'),
        '\mye', 'e', 'g');

ALTER TABLE gazetteer_places ADD COLUMN latin_key text;
CREATE INDEX gazetteer_places_latin_key_idx ON gazetteer_places (latin_key, country) WHERE latin_key IS NOT NULL;
CREATE INDEX gazetteer_places_latin_trgm_idx ON gazetteer_places USING gin (latin_key gin_trgm_ops)
    WHERE latin_key IS NOT NULL;
INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM gazetteer_places ON CONFLICT DO NOTHING;
