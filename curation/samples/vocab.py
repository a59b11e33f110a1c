"""Word and phrase material for the sample data, written for Winnow (no copied external text).

Topics give the nouns, adjectives and verb phrases a document is about; the generic lists give the
sentence frames around them. Verb phrases come as (base, past) pairs so that any subject works after a
modal ("can", "should") or in the past tense without subject-verb agreement rules. `{n}` in a verb phrase
is filled with a noun of the same topic.
"""

from __future__ import annotations

TOPICS: dict[str, dict[str, list]] = {
    "gardening": {
        "nouns": ["raised bed", "compost heap", "tomato plant", "watering can", "seed tray", "pruning saw",
                  "garden hose", "rose bush", "herb garden", "potting mix", "greenhouse", "lawn mower",
                  "apple tree", "vegetable patch", "mulch layer", "trellis", "garden fork", "rain barrel",
                  "flower border", "cold frame"],
        "adjectives": ["shady", "well drained", "organic", "hardy", "overgrown", "sunny", "sheltered",
                       "productive", "neglected", "compact"],
        "verbs": [("water the {n}", "watered the {n}"), ("prune the {n}", "pruned the {n}"),
                  ("move the {n} into full sun", "moved the {n} into full sun"),
                  ("protect the {n} from frost", "protected the {n} from frost"),
                  ("feed the {n} once a month", "fed the {n} once a month"),
                  ("replace the old {n}", "replaced the old {n}"),
                  ("check the {n} for slugs", "checked the {n} for slugs"),
                  ("build a simple {n}", "built a simple {n}"),
                  ("clear the weeds around the {n}", "cleared the weeds around the {n}"),
                  ("plan the {n} before spring", "planned the {n} before spring")],
    },
    "cooking": {
        "nouns": ["cast iron pan", "sourdough starter", "stock pot", "chef knife", "spice rack",
                  "slow cooker", "baking tray", "vegetable soup", "tomato sauce", "bread dough",
                  "rice cooker", "cutting board", "roast chicken", "pie crust", "salad dressing",
                  "frying pan", "mixing bowl", "kitchen scale", "lentil stew", "pizza oven"],
        "adjectives": ["homemade", "crispy", "savoury", "simple", "rich", "fresh", "hearty", "quick",
                       "golden", "seasonal"],
        "verbs": [("season the {n}", "seasoned the {n}"), ("preheat the {n}", "preheated the {n}"),
                  ("clean the {n} right after use", "cleaned the {n} right after use"),
                  ("taste the {n} before serving", "tasted the {n} before serving"),
                  ("let the {n} rest for ten minutes", "let the {n} rest for ten minutes"),
                  ("prepare the {n} the night before", "prepared the {n} the night before"),
                  ("keep the {n} in the fridge", "kept the {n} in the fridge"),
                  ("double the recipe for the {n}", "doubled the recipe for the {n}"),
                  ("stir the {n} every few minutes", "stirred the {n} every few minutes"),
                  ("sharpen the {n}", "sharpened the {n}")],
    },
    "travel": {
        "nouns": ["train pass", "carry-on bag", "hostel room", "night bus", "travel insurance policy",
                  "walking tour", "ferry crossing", "rental car", "guidebook", "city map", "hotel booking",
                  "window seat", "mountain hut", "airport lounge", "museum ticket", "packing list",
                  "campsite", "boarding pass", "coastal path", "local market"],
        "adjectives": ["crowded", "quiet", "affordable", "scenic", "remote", "busy", "charming",
                       "overpriced", "convenient", "historic"],
        "verbs": [("book the {n} early", "booked the {n} early"), ("skip the {n}", "skipped the {n}"),
                  ("compare prices for the {n}", "compared prices for the {n}"),
                  ("pack light for the {n}", "packed light for the {n}"),
                  ("ask the locals about the {n}", "asked the locals about the {n}"),
                  ("cancel the {n} without a fee", "cancelled the {n} without a fee"),
                  ("wait in line for the {n}", "waited in line for the {n}"),
                  ("plan a day around the {n}", "planned a day around the {n}"),
                  ("recommend the {n} to friends", "recommended the {n} to friends"),
                  ("pay cash for the {n}", "paid cash for the {n}")],
    },
    "finance": {
        "nouns": ["savings account", "monthly budget", "credit score", "pension plan", "index fund",
                  "emergency fund", "mortgage payment", "tax return", "student loan", "household bill",
                  "interest rate", "spending plan", "retirement account", "car loan", "grocery budget",
                  "insurance premium", "utility bill", "side income", "investment portfolio",
                  "debt repayment plan"],
        "adjectives": ["sensible", "realistic", "fixed", "variable", "long term", "modest", "generous",
                       "flexible", "careful", "automatic"],
        "verbs": [("review the {n} every month", "reviewed the {n} every month"),
                  ("pay down the {n}", "paid down the {n}"), ("set up the {n}", "set up the {n}"),
                  ("cut the {n} by a tenth", "cut the {n} by a tenth"),
                  ("track the {n} in a spreadsheet", "tracked the {n} in a spreadsheet"),
                  ("talk to an adviser about the {n}", "talked to an adviser about the {n}"),
                  ("automate the {n}", "automated the {n}"),
                  ("compare offers for the {n}", "compared offers for the {n}"),
                  ("rebuild the {n} after a bad year", "rebuilt the {n} after a bad year"),
                  ("ignore the {n} for too long", "ignored the {n} for too long")],
    },
    "home repair": {
        "nouns": ["leaking tap", "cordless drill", "bathroom tile", "window frame", "circuit breaker",
                  "garden fence", "kitchen cabinet", "wooden floor", "roof gutter", "door hinge",
                  "paint roller", "water heater", "ceiling fan", "toolbox", "extension ladder",
                  "shower drain", "light switch", "wall anchor", "stud finder", "sealant gun"],
        "adjectives": ["loose", "damp", "sturdy", "cheap", "worn", "noisy", "reliable", "rusty",
                       "cracked", "brand new"],
        "verbs": [("tighten the {n}", "tightened the {n}"), ("repaint the {n}", "repainted the {n}"),
                  ("turn off the power before touching the {n}", "turned off the power before touching the {n}"),
                  ("measure the {n} twice", "measured the {n} twice"),
                  ("replace the seal on the {n}", "replaced the seal on the {n}"),
                  ("clean out the {n} in autumn", "cleaned out the {n} in autumn"),
                  ("borrow a {n} from a neighbour", "borrowed a {n} from a neighbour"),
                  ("call a professional about the {n}", "called a professional about the {n}"),
                  ("sand down the {n}", "sanded down the {n}"), ("inspect the {n}", "inspected the {n}")],
    },
    "cycling": {
        "nouns": ["road bike", "bike chain", "rear derailleur", "inner tube", "bike helmet", "cycle lane",
                  "saddle bag", "tyre pump", "brake pad", "commuter route", "gravel trail", "bike lock",
                  "front light", "water bottle cage", "handlebar tape", "training plan", "cargo bike",
                  "mountain bike", "spoke wrench", "group ride"],
        "adjectives": ["lightweight", "muddy", "steep", "smooth", "reliable", "fast", "heavy",
                       "comfortable", "twisty", "flat"],
        "verbs": [("oil the {n}", "oiled the {n}"), ("adjust the {n}", "adjusted the {n}"),
                  ("carry a spare {n}", "carried a spare {n}"), ("test the {n} before a long ride",
                                                                  "tested the {n} before a long ride"),
                  ("upgrade the {n}", "upgraded the {n}"), ("avoid the {n} after rain", "avoided the {n} after rain"),
                  ("clean the {n} after every ride", "cleaned the {n} after every ride"),
                  ("fit a new {n}", "fitted a new {n}"), ("ride the {n} on weekends", "rode the {n} on weekends"),
                  ("check the {n} for wear", "checked the {n} for wear")],
    },
    "photography": {
        "nouns": ["prime lens", "camera sensor", "tripod", "light meter", "memory card", "zoom lens",
                  "camera bag", "flash unit", "editing workflow", "portrait session", "shutter button",
                  "lens hood", "raw file", "photo walk", "colour profile", "studio light", "viewfinder",
                  "landscape shot", "camera strap", "backup drive"],
        "adjectives": ["sharp", "blurry", "bright", "moody", "wide", "expensive", "secondhand",
                       "versatile", "grainy", "balanced"],
        "verbs": [("clean the {n} gently", "cleaned the {n} gently"), ("set up the {n}", "set up the {n}"),
                  ("shoot the {n} in the early morning", "shot the {n} in the early morning"),
                  ("back up the {n} every evening", "backed up the {n} every evening"),
                  ("rent a {n} for the weekend", "rented a {n} for the weekend"),
                  ("edit the {n} on a laptop", "edited the {n} on a laptop"),
                  ("format the {n} before a trip", "formatted the {n} before a trip"),
                  ("practise with the {n}", "practised with the {n}"),
                  ("calibrate the {n}", "calibrated the {n}"), ("sell the old {n}", "sold the old {n}")],
    },
    "software": {
        "nouns": ["build script", "unit test", "database index", "web server", "config file",
                  "release branch", "error message", "login page", "backup job", "search feature",
                  "code review", "deployment pipeline", "memory leak", "command line tool", "user interface",
                  "API endpoint", "log file", "laptop battery", "password manager", "text editor"],
        "adjectives": ["slow", "broken", "clean", "legacy", "secure", "minimal", "flaky", "popular",
                       "open source", "well documented"],
        "verbs": [("restart the {n}", "restarted the {n}"), ("rewrite the {n}", "rewrote the {n}"),
                  ("document the {n}", "documented the {n}"), ("profile the {n}", "profiled the {n}"),
                  ("fix the {n} before the release", "fixed the {n} before the release"),
                  ("update the {n}", "updated the {n}"), ("delete the old {n}", "deleted the old {n}"),
                  ("automate the {n}", "automated the {n}"),
                  ("read the {n} carefully", "read the {n} carefully"),
                  ("simplify the {n}", "simplified the {n}")],
    },
    "fitness": {
        "nouns": ["morning run", "rowing machine", "yoga mat", "strength routine", "resistance band",
                  "protein shake", "rest day", "running shoe", "heart rate monitor", "stretching routine",
                  "swimming session", "kettlebell", "step counter", "warm up", "jump rope", "gym membership",
                  "interval session", "foam roller", "weekly plan", "walking habit"],
        "adjectives": ["gentle", "intense", "steady", "short", "demanding", "relaxed", "regular",
                       "balanced", "tiring", "enjoyable"],
        "verbs": [("skip the {n}", "skipped the {n}"), ("start with a short {n}", "started with a short {n}"),
                  ("stick to the {n}", "stuck to the {n}"), ("track the {n}", "tracked the {n}"),
                  ("increase the {n} slowly", "increased the {n} slowly"),
                  ("share the {n} with a friend", "shared the {n} with a friend"),
                  ("replace the worn {n}", "replaced the worn {n}"), ("enjoy the {n}", "enjoyed the {n}"),
                  ("schedule the {n} in a calendar", "scheduled the {n} in a calendar"),
                  ("rethink the {n}", "rethought the {n}")],
    },
    "pets": {
        "nouns": ["dog lead", "cat flap", "fish tank", "rabbit hutch", "chew toy", "dog bed",
                  "litter tray", "vet visit", "puppy class", "bird cage", "food bowl", "scratching post",
                  "grooming brush", "pet carrier", "evening walk", "flea treatment", "hamster wheel",
                  "training treat", "dog park", "water fountain"],
        "adjectives": ["playful", "nervous", "friendly", "older", "curious", "noisy", "gentle",
                       "energetic", "shy", "sleepy"],
        "verbs": [("wash the {n} each week", "washed the {n} each week"), ("buy a bigger {n}", "bought a bigger {n}"),
                  ("introduce the {n} slowly", "introduced the {n} slowly"),
                  ("book the {n} in advance", "booked the {n} in advance"),
                  ("hide the {n} during the day", "hid the {n} during the day"),
                  ("clean the {n} every day", "cleaned the {n} every day"), ("move the {n}", "moved the {n}"),
                  ("try a different {n}", "tried a different {n}"),
                  ("keep the {n} out of reach", "kept the {n} out of reach"),
                  ("reward good behaviour with a {n}", "rewarded good behaviour with a {n}")],
    },
    "music": {
        "nouns": ["acoustic guitar", "piano lesson", "practice routine", "drum kit", "music stand",
                  "home studio", "concert ticket", "vinyl record", "bass amplifier", "choir rehearsal",
                  "metronome", "sheet music", "microphone", "song lyric", "guitar string", "headphone amp",
                  "band practice", "violin bow", "recording session", "festival lineup"],
        "adjectives": ["loud", "quiet", "vintage", "tuneful", "tricky", "warm", "bright", "beginner",
                       "affordable", "professional"],
        "verbs": [("tune the {n}", "tuned the {n}"), ("record the {n}", "recorded the {n}"),
                  ("practise the {n} every evening", "practised the {n} every evening"),
                  ("restring the {n}", "restrung the {n}"), ("soundproof the {n}", "soundproofed the {n}"),
                  ("sell the old {n}", "sold the old {n}"), ("join the {n}", "joined the {n}"),
                  ("warm up before the {n}", "warmed up before the {n}"),
                  ("learn the {n} by ear", "learned the {n} by ear"), ("set up the {n}", "set up the {n}")],
    },
    "community": {
        "nouns": ["town council", "library branch", "bus route", "farmers market", "school board",
                  "park cleanup", "road repair", "parking rule", "community centre", "recycling scheme",
                  "local election", "street festival", "public pool", "bike share", "youth club",
                  "housing plan", "food bank", "night market", "river path", "neighbourhood meeting"],
        "adjectives": ["local", "popular", "controversial", "new", "delayed", "busy", "underfunded",
                       "successful", "temporary", "volunteer run"],
        "verbs": [("approve the {n}", "approved the {n}"), ("oppose the {n}", "opposed the {n}"),
                  ("fund the {n}", "funded the {n}"), ("expand the {n}", "expanded the {n}"),
                  ("discuss the {n} at length", "discussed the {n} at length"),
                  ("volunteer at the {n}", "volunteered at the {n}"), ("delay the {n}", "delayed the {n}"),
                  ("vote on the {n}", "voted on the {n}"), ("support the {n}", "supported the {n}"),
                  ("review the {n} next year", "reviewed the {n} next year")],
    },
}

# subjects work with any modal and with the past tense
SUBJECTS = ["most beginners", "a lot of readers", "our editor", "my neighbour", "the manufacturer",
            "anyone who owns a {n}", "experienced owners", "the team", "a friend of mine", "many people",
            "the instructor", "you", "we", "I", "the seller", "my partner", "the reviewer", "the neighbours",
            "the previous owner", "a careful buyer", "some experts", "the local shop", "our readers",
            "the author", "every guide I read", "the support staff", "my family", "first-time visitors"]
MODALS = ["can", "should", "will", "might", "could", "would", "may", "must", "usually", "often", "rarely",
          "did not", "never", "always"]
# after these modals the verb takes its past form
PAST_MODALS = {"usually", "often", "rarely", "never", "always"}
OPENERS = ["In our experience", "For most people", "On the other hand", "As a rule", "In practice",
           "Last spring", "Before you start", "After a few weeks", "To be fair", "Generally speaking",
           "In the end", "At first", "Looking back", "For what it is worth", "Surprisingly",
           "Over the last year", "With that in mind", "Even so", "Most of the time", "Once again",
           "If money is tight", "Early in the morning", "During the winter", "By the second week",
           "According to the instructions", "Without a doubt", "In a small flat", "On a busy weekday"]
TAILS = ["", "", "", " without much effort", " in less than an hour", " every few days",
         " before the end of the month", " at a reasonable price", " if the weather allows",
         " with a little patience", " on a tight budget", " when there is time", " for the first time",
         " after reading the manual", " without asking for help", " once the kids are asleep",
         " as soon as possible", " on the first attempt", " in the spare room", " over a long weekend",
         " with the help of a friend", " before it gets worse", " at the start of each season"]
CONNECTORS = ["because", "although", "so", "but", "while", "since", "and then", "even though", "until"]
COMMENTS = ["That made a real difference.", "It is easier than it sounds.", "This is a common mistake.",
            "The results were better than expected.", "Nobody told us this at the start.",
            "It took longer than we planned.", "That alone saved a lot of time.",
            "Honestly, it was worth the trouble.", "The difference is easy to notice.",
            "We will see how it holds up next year.", "Your mileage may vary, of course.",
            "It is not perfect, but it works.", "Small changes add up over time.",
            "This part surprised me the most.", "There is no single right answer here.",
            "Patience matters more than expensive gear.", "Most problems start with a rushed job.",
            "It pays to read the small print.", "A little planning goes a long way.",
            "The cheaper option was fine for us."]
LINKS = ["was", "seemed", "looked", "felt", "turned out", "proved", "was never", "was not"]
LEADINS = ["It is worth remembering that", "Keep in mind that", "Remember that", "One reader pointed out that",
           "It turns out that", "We found that", "The short version is that", "Experience shows that",
           "Several people mentioned that", "It helps to know that", "Note that", "Bear in mind that"]
JUDGEMENTS = ["is {g} enough if", "works well when", "makes sense if", "is a fair choice when",
              "is easy to live with if", "is a {g} start, as long as", "only helps if", "is {g} value when",
              "is worth a look if", "will do the job if"]
ADJ_GENERIC = ["good", "cheap", "reliable", "popular", "new", "old", "simple", "basic", "decent", "solid"]
QUESTIONS = ["Has anyone else had trouble with a {a} {n}?", "What is the best way to {v}?",
             "Is it worth it to {v}?", "How often should I {v}?", "Does anyone know a good {a} {n}?",
             "Should I {v} or just wait?", "Why does nobody talk about the {n}?",
             "What would you do about a {a} {n}?"]
TITLES = ["How to {v} without the usual headaches", "A beginner's guide to the {a} {n}",
          "Why we decided to {v}", "Ten things I learned about the {n}", "The {a} {n}: is it worth it?",
          "What nobody tells you about the {n}", "Our honest review of a {a} {n}",
          "Notes from a year with a {a} {n}", "When to {v}, and when not to", "Getting started with the {n}"]
NEWS_TITLES = ["Council moves to {v}", "Residents react as plans to {v} go ahead",
               "Local group asks city to {v}", "Survey finds most households want to {v}",
               "New report questions the {a} {n}", "Shop owners split over the {n}"]
ROLES = ["a spokesperson for the council", "the store manager", "a local resident", "one volunteer",
         "a member of the planning committee", "the head of the local association", "a shop owner",
         "an independent analyst", "a teacher at the nearby school", "the project lead"]
CITIES = ["Millbrook", "Ashford Falls", "Riverton", "Cedar Point", "Lakeside", "Northgate", "Elm Valley",
          "Stonebridge", "Port Holloway", "Greenfield", "Westmoor", "Brookhaven"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
BRANDS = ["Norvale", "Brightwick", "Kestrel", "Ambergate", "Tidewell", "Corvex", "Halden", "Pinebrook",
          "Solvane", "Marlow & Finch", "Quillon", "Redwater"]
USERNAMES = ["quiet_fox", "weekend_builder", "ms_kettle", "bluehill77", "northern_rider", "plantdad",
             "tinkerer42", "casual_cook", "lens_and_light", "trail_mix", "pennywise", "old_oak"]
SITE_WORDS = ["daily", "guide", "notes", "hub", "corner", "journal", "weekly", "works", "world", "talk"]
# a generic filler vocabulary for near-duplicate substitutions and insertions
FILLER_WORDS = ["really", "quite", "also", "just", "perhaps", "certainly", "simply", "rather", "fairly",
                "truly", "indeed", "clearly", "maybe", "basically", "actually", "mostly", "nearly",
                "quickly", "slowly", "gently", "carefully", "easily", "often", "again", "still", "soon",
                "later", "early", "today", "here", "there", "now", "then", "usually", "sometimes",
                "always", "never", "almost", "exactly", "roughly"]

# ---- material for the planted junk ----
NAV_LINES = ["Home | About | Contact", "Home > Blog > Archive", "Skip to main content", "Menu", "Search",
             "Log in | Register", "Privacy Policy | Terms of Use | Cookie Settings", "Subscribe",
             "Share on social media", "Next post", "Previous post", "Related articles", "Categories",
             "Tags", "Back to top", "Sign up for our newsletter", "Follow us", "Shop | Cart (0) | Account",
             "Products | Services | Support | Careers", "Sitemap", "Help Centre", "Read more",
             "Loading...", "Advertisement", "Recent posts", "Archives", "Popular this week"]
COOKIE_LINES = ["We use cookies to improve your experience on our site. By continuing you accept our use "
                "of cookies.", "This website uses cookies. Accept all | Reject | Manage preferences",
                "Please enable JavaScript to view this page.", "Your browser is out of date.",
                "Click here to accept cookies"]
FOOTER_LINES = ["All rights reserved.", "Powered by a content management system", "Terms | Privacy | Imprint",
                "Contact us", "Made with care", "Back to home page"]
SPAM_PHRASES = ["best price guaranteed", "buy now", "click here", "limited offer", "free shipping",
                "order today", "cheap deals", "top rated", "discount code", "act fast", "100% satisfaction",
                "hot sale", "lowest price online", "visit our store"]
SHORT_TEXTS = ["Thanks for sharing!", "Great post, very helpful.", "Page not found.", "Coming soon.",
               "This item is out of stock.", "See the photos below.", "Comments are closed.",
               "Click to read the full story.", "Updated last week.", "Sold out, sorry.",
               "No results found for your search.", "More details to follow."]
# mild placeholder insults written for the toxicity sample (a few common profanities included on purpose)
TOXIC_LINES = ["You are a complete idiot and everyone knows it.", "Shut up, nobody cares what you think, loser.",
               "What a stupid, worthless pile of garbage this is.", "Only a moron would write something this dumb.",
               "Go away, you pathetic clown.", "This is crap and so are you.",
               "People like you are trash and should be banned.", "You are the dumbest person on this forum.",
               "Damn, what an ignorant jerk.", "Get lost, you useless fool, I hate you.",
               "This is bullshit and the author is an idiot.", "Screw you and your stupid opinions."]
FIRST_NAMES = ["James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Daniel",
               "Elizabeth", "Thomas", "Susan", "Carlos", "Aisha", "Wei", "Priya", "Olga", "Kwame", "Sofia",
               "Hiroshi", "Fatima", "Liam", "Emma", "Noah"]
LAST_NAMES = ["Johnson", "Garcia", "Miller", "Davis", "Martinez", "Anderson", "Taylor", "Thompson",
              "Moore", "Jackson", "Nguyen", "Patel", "Kowalski", "Okafor", "Rossi", "Schmidt", "Tanaka",
              "Haddad", "Novak", "Brennan"]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "test.example"]
