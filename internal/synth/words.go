package synth

// Word lists the text generator draws from. They are small on purpose: the
// texts only need to look varied, not meaningful.

var enNouns = []string{
	"people", "government", "country", "city", "world", "news", "media", "election", "vote",
	"economy", "job", "school", "family", "friend", "team", "game", "music", "movie", "weather",
	"coffee", "morning", "night", "weekend", "story", "truth", "freedom", "border", "tax", "price",
	"health", "doctor", "hospital", "police", "court", "law", "army", "leader", "president",
	"minister", "party", "campaign", "report", "video", "photo", "book", "street", "market",
	"money", "bank", "energy", "climate", "future", "history", "church", "community", "kids",
	"water", "food", "car", "train", "phone", "internet", "policy", "crisis", "protest", "rally",
	"debate", "speech", "interview", "result", "season", "match", "player", "coach", "fan",
	"concert", "album", "show", "series", "trip", "beach", "park", "dog", "cat", "garden",
	"dinner", "lunch", "holiday", "office", "project", "update", "question", "answer", "idea",
	"problem", "plan", "moment", "life", "home", "budget", "union", "farmer", "teacher", "nurse",
	"pension", "rent", "bridge", "airport", "stadium", "festival", "recipe", "podcast", "article",
}

var enVerbs = []string{
	"is", "was", "looks", "feels", "needs", "wants", "says", "knows", "shows", "brings", "makes",
	"takes", "gives", "keeps", "starts", "stops", "changes", "helps", "hurts", "supports",
	"destroys", "builds", "loves", "hates", "watches", "reads", "writes", "shares", "finds",
	"loses", "wins", "calls", "asks", "tells", "leaves", "joins", "follows", "misses",
	"remembers", "ignores", "protects", "exposes", "hides", "explains", "deserves", "fixes",
	"breaks", "celebrates", "blames", "funds",
}

var enAdjs = []string{
	"good", "great", "bad", "new", "old", "big", "small", "real", "fake", "true", "free", "strong",
	"weak", "happy", "sad", "crazy", "beautiful", "amazing", "terrible", "important", "simple",
	"hard", "easy", "long", "short", "local", "national", "public", "private", "best", "worst",
	"next", "last", "early", "late", "busy", "quiet", "loud", "honest", "corrupt", "brave",
	"angry", "proud", "tired", "ready", "funny", "serious", "huge", "tiny", "dark", "bright",
	"secret", "official", "rural", "urban", "cheap", "expensive",
}

var enAdvs = []string{
	"really", "never", "always", "finally", "again", "today", "tonight", "now", "still", "just",
	"already", "maybe", "probably", "seriously", "literally", "honestly", "actually", "clearly",
	"totally", "quickly",
}

var enDets = []string{"the", "a", "this", "that", "our", "my", "your", "their", "every", "no", "some"}

var enPreps = []string{"in", "on", "for", "with", "about", "after", "before", "from", "at", "against", "without", "over"}

var enInterj = []string{"lol", "wow", "omg", "yes", "no way", "ugh", "haha", "well", "ok", "wait", "thanks", "congrats", "so"}

var emojis = []string{"😂", "🔥", "👍", "🙏", "❤️", "😡", "👏", "🤔", "💯", "😍", "🙄", "⚽"}

var stockPhrases = []string{
	"Good morning everyone!", "Happy Friday!", "Good night", "Thank you!", "So true",
	"This.", "Can't wait!", "Happy weekend", "Monday again...", "Retweet if you agree",
}

var ruWords = []string{
	"люди", "правительство", "страна", "город", "новости", "выборы", "правда", "свобода",
	"работа", "семья", "друзья", "сегодня", "завтра", "очень", "снова", "всегда", "никогда",
	"хороший", "плохой", "новый", "большой", "важный", "говорит", "знает", "хочет", "делает",
	"показывает", "смотрит", "читает", "наш", "этот", "все", "где", "почему", "когда", "и", "но",
	"в", "на", "с", "про", "для", "опять", "власть", "народ", "деньги", "цены", "война", "мир",
	"школа", "дети", "весна", "утро",
}

var esWords = []string{
	"gente", "gobierno", "país", "ciudad", "noticias", "elecciones", "verdad", "libertad",
	"trabajo", "familia", "amigos", "hoy", "mañana", "muy", "otra", "vez", "siempre", "nunca",
	"bueno", "malo", "nuevo", "grande", "importante", "dice", "sabe", "quiere", "hace", "muestra",
	"mira", "lee", "nuestro", "este", "todos", "donde", "cuando", "y", "pero", "en", "con",
	"para", "sobre", "pueblo", "dinero", "precios", "escuela", "niños", "mundo", "calle",
}

var deWords = []string{
	"Leute", "Regierung", "Land", "Stadt", "Nachrichten", "Wahl", "Wahrheit", "Freiheit",
	"Arbeit", "Familie", "Freunde", "heute", "morgen", "sehr", "wieder", "immer", "nie", "gut",
	"schlecht", "neu", "groß", "wichtig", "sagt", "weiß", "will", "macht", "zeigt", "sieht",
	"liest", "unser", "dieser", "alle", "wo", "warum", "wann", "und", "aber", "in", "mit", "für",
	"über", "Volk", "Geld", "Preise", "Schule", "Kinder", "Welt", "Straße",
}

var firstNames = []string{
	"James", "Mary", "John", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Lisa",
	"Chris", "Emily", "Daniel", "Sarah", "Mark", "Laura", "Paul", "Anna", "Kevin", "Jessica",
	"Brian", "Amy", "Jason", "Rachel", "Ryan", "Megan", "Eric", "Olga", "Ivan", "Natalia",
	"Dmitri", "Elena", "Carlos", "María", "José", "Lucía", "Jörg", "Anke", "Stefan", "Sabine",
	"Tom", "Kate", "Ben", "Zoe",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
	"Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
	"Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
	"Ivanova", "Petrov", "Sokolov", "García", "López", "Fernández", "Müller", "Schmidt",
	"Becker", "Wagner", "Reed", "Cook",
}

var brandWords = []string{
	"News", "Daily", "Report", "Today", "Live", "Wire", "Watch", "Insider", "Times", "Post",
	"Voice", "Hub", "Now", "World", "Local", "Patriot", "Citizen", "Info", "Media", "Radio",
}

var locations = []string{
	"New York, NY", "London", "Los Angeles, CA", "Texas, USA", "Chicago", "Berlin, Germany",
	"Madrid", "Moscow", "Saint Petersburg", "Caracas", "Miami, FL", "USA", "United States",
	"Earth", "🌍", "Somewhere", "Florida", "Ohio, USA", "Toronto, Ontario", "Sydney",
	"Paris, France", "Hamburg", "Barcelona", "Manchester, England", "Atlanta, GA",
	"Seattle, WA", "Buenos Aires", "Mexico City", "Kyiv", "home",
}

var newsDomains = []string{
	"www.daily-courier-news.com", "www.metro-herald.net", "www.globalwire-report.com",
	"www.the-evening-post.org", "news.capital-bulletin.com", "www.example-news.com",
	"www.northern-gazette.co.uk", "www.citytribune-online.com", "www.worldview-times.net",
	"www.morning-ledger.com", "www.sportsdesk-live.com", "www.techpulse-news.io",
}

var shortenerHosts = []string{"http://bit.ly/", "http://ow.ly/", "https://goo.gl/", "http://dlvr.it/"}

var standardClients = []string{
	"Twitter for Android", "Twitter for iPhone", "Twitter Web Client", "Twitter Web App",
	"TweetDeck", "Twitter Lite", "Hootsuite Inc.", "twitterfeed", "IFTTT", "Twitter for iPad",
	"Buffer", "Facebook",
}

// standardClientWeights are per-mille weights of standardClients for organic accounts.
var standardClientWeights = []int{300, 270, 180, 80, 50, 30, 25, 15, 15, 20, 10, 5}

var customClients = []string{
	"PostMaster Pro", "sq_autoposter", "MediaBot v2", "SocialPilot X", "TwitMachine",
	"NewsPusher", "AutoTweet Suite", "bulk-poster-3", "CrowdCaster", "SMM Panel",
}

var tcoAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Languages: index into these arrays.
const (
	langEN = iota
	langRU
	langES
	langDE
)

var langCodes = []string{"en", "ru", "es", "de"}

// langWeights are per-mille weights of account languages.
var langWeights = []int{700, 120, 100, 80}

// behaviourNames names the behaviours in the truth file; co_image (behImage)
// comes after the ones squads draw from.
var behaviourNames = []string{"copy_paste", "paraphrase", "co_retweet", "co_link", "hashtag_seq", "co_image"}

const (
	behCopy = iota
	behPara
	behRetweet
	behLink
	behHashSeq
	numBehaviours
)
