"""English irregular forms and their dictionary forms, for search analysis: Snowball
stems `stole` to `stole` and `children` to `children`, so `steal` and `child` would
never find them.

Left out on purpose, because the form is more often another word in news: `left`
(direction), `saw`, `lay`, `felt`, `wound` (injury), `ground`, `bound`, `won` (the
Korean currency), `bit`, `fed` (the Fed), `spat` (a diplomatic spat), `dove`, `smelt`,
`bore`, `lives`, `leaves`; and the forms of `be`, which no analyst searches for.
"""

from __future__ import annotations

# "base form1 form2 ..." per line: past tense and past participle, or plurals.
_TABLE = """
arise arose arisen
awake awoke awoken
bear borne
beat beaten
become became
begin began begun
bend bent
bid bade bidden
bite bitten
bleed bled
blow blew blown
break broke broken
breed bred
bring brought
build built
burn burnt
buy bought
catch caught
choose chose chosen
cling clung
come came
creep crept
deal dealt
dig dug
do did done
draw drew drawn
dream dreamt
drink drank drunk
drive drove driven
eat ate eaten
fall fell fallen
fight fought
find found
flee fled
fling flung
fly flew flown
forbid forbade forbidden
foresee foresaw foreseen
forget forgot forgotten
forgive forgave forgiven
freeze froze frozen
get got gotten
give gave given
go went gone
grow grew grown
hang hung
have has had
hear heard
hide hid hidden
hold held
keep kept
kneel knelt
know knew known
lead led
lean leant
leap leapt
lend lent
lie lain
light lit
lose lost
make made
mean meant
meet met
mislead misled
mistake mistook mistaken
outrun outran
overcome overcame
overhear overheard
override overrode overridden
overrun overran
oversee oversaw overseen
overtake overtook overtaken
overthrow overthrew overthrown
pay paid
prove proven
rebuild rebuilt
repay repaid
retake retook retaken
ride rode ridden
ring rang rung
rise rose risen
run ran
say said
see seen
seek sought
sell sold
send sent
shake shook shaken
shine shone
shoot shot
show shown
shrink shrank shrunk
sing sang sung
sink sank sunk
sit sat
sleep slept
slide slid
speak spoke spoken
speed sped
spend spent
spin spun
spring sprang sprung
stand stood
steal stole stolen
stick stuck
sting stung
stride strode stridden
strike struck stricken
strive strove striven
swear swore sworn
sweep swept
swim swam swum
swing swung
take took taken
teach taught
tear tore torn
tell told
think thought
throw threw thrown
tread trod trodden
undergo underwent undergone
understand understood
undertake undertook undertaken
uphold upheld
wake woke woken
wear wore worn
weave wove woven
weep wept
withdraw withdrew withdrawn
withhold withheld
withstand withstood
write wrote written
man men
woman women
child children
foot feet
tooth teeth
mouse mice
goose geese
wife wives
knife knives
wolf wolves
half halves
thief thieves
crisis crises
analysis analyses
thesis theses
hypothesis hypotheses
phenomenon phenomena
criterion criteria
gunman gunmen
serviceman servicemen
servicewoman servicewomen
spokesman spokesmen
spokeswoman spokeswomen
congressman congressmen
congresswoman congresswomen
chairman chairmen
chairwoman chairwomen
businessman businessmen
businesswoman businesswomen
policeman policemen
policewoman policewomen
fisherman fishermen
seaman seamen
statesman statesmen
tribesman tribesmen
militiaman militiamen
countryman countrymen
"""

FORMS: dict[str, tuple[str, ...]] = {
    words[0]: tuple(words[1:]) for words in (line.split() for line in _TABLE.splitlines()) if words
}
IRREGULAR: dict[str, str] = {form: base for base, forms in FORMS.items() for form in forms}
