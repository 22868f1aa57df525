package sandbox

import "strings"

// Word lists the directory generator draws institution names from. They
// mix real place names with synthetic ones (prefix + suffix) so that 20,000
// generated names stay unique without reading like a random string, and
// they include accented French names so search normalisation gets exercised
// by realistic data.

// dirUSTowns are real, common US town names, each with a state that has a
// town of that name.
var dirUSTowns = strings.Split(`Springfield|IL;Franklin|TN;Greenville|SC;Bristol|CT;Clinton|IA;Fairview|OR;Salem|MA;Madison|WI;Georgetown|TX;Arlington|VA;Ashland|OR;Dover|DE;Oxford|MS;Jackson|MS;Milton|MA;Newport|RI;Riverside|CA;Burlington|VT;Manchester|NH;Auburn|AL;Dayton|OH;Lexington|KY;Milford|CT;Winchester|VA;Hudson|NY;Kingston|NY;Marion|IN;Centerville|OH;Clayton|MO;Lebanon|PA;Mount Vernon|WA;Oakland|CA;Plymouth|MA;Troy|NY;Cleveland|TN;Columbia|MO;Lancaster|PA;Monroe|LA;Portland|ME;Richmond|VA;Shelby|NC;Union|NJ;Warren|MI;Hamilton|OH;Harrison|AR;Jefferson|IA;Lincoln|NE;Quincy|IL;Rochester|MN;Sparta|WI;Athens|GA;Bedford|IN;Beloit|WI;Bozeman|MT;Casper|WY;Cheyenne|WY;Duluth|MN;Eugene|OR;Fargo|ND;Flagstaff|AZ;Frederick|MD;Grand Forks|ND;Helena|MT;Hilo|HI;Juneau|AK;Laramie|WY;Las Cruces|NM;Lubbock|TX;Macon|GA;Missoula|MT;Mobile|AL;Muncie|IN;Nashua|NH;Ogden|UT;Peoria|IL;Provo|UT;Pueblo|CO;Reno|NV;Roanoke|VA;Saginaw|MI;Santa Fe|NM;Savannah|GA;Sioux Falls|SD;Spokane|WA;Tacoma|WA;Topeka|KS;Tulsa|OK;Tupelo|MS;Waco|TX;Wichita|KS;Yakima|WA;Abilene|TX;Albany|NY;Amarillo|TX;Anchorage|AK;Bangor|ME;Billings|MT;Boise|ID;Burlington|IA;Charleston|WV;Chattanooga|TN;Davenport|IA;Des Moines|IA;Dubuque|IA;El Paso|TX;Erie|PA;Evansville|IN;Fayetteville|AR;Fort Wayne|IN;Galveston|TX;Green Bay|WI;Hartford|CT;Honolulu|HI;Huntsville|AL;Joplin|MO;Kalamazoo|MI;Knoxville|TN;Lafayette|LA;Little Rock|AR;Lowell|MA;Memphis|TN;Midland|TX;Montgomery|AL;Natchez|MS;New Haven|CT;Norfolk|VA;Odessa|TX;Omaha|NE;Pasadena|CA;Pensacola|FL;Raleigh|NC;Rapid City|SD;Sacramento|CA;Scranton|PA;Shreveport|LA;Stamford|CT;Syracuse|NY;Tallahassee|FL;Toledo|OH;Trenton|NJ;Tucson|AZ;Utica|NY;Wheeling|WV;Wilmington|DE;Worcester|MA;Yonkers|NY;Youngstown|OH;Akron|OH;Allentown|PA;Asheville|NC;Augusta|ME;Bakersfield|CA;Baton Rouge|LA;Bismarck|ND;Bloomington|IN;Boulder|CO;Cedar Rapids|IA;Champaign|IL;Charlotte|NC;Columbus|GA;Concord|NH;Corpus Christi|TX;Durham|NC;Elkhart|IN;Fresno|CA;Gainesville|FL;Greensboro|NC;Harrisburg|PA;Jacksonville|FL;Jonesboro|AR;Kenosha|WI;Lansing|MI;Lawrence|KS;Lynchburg|VA;Modesto|CA;Montpelier|VT;Nashville|TN;Ocala|FL;Olympia|WA;Paducah|KY;Pittsburgh|PA;Pocatello|ID;Racine|WI;Reading|PA;Salinas|CA;San Angelo|TX;Santa Rosa|CA;Sheboygan|WI;St. Cloud|MN;Terre Haute|IN;Tyler|TX;Valdosta|GA;Waterloo|IA;Wausau|WI;Yuma|AZ`, ";")

// dirTownPrefixes and dirTownSuffixes make synthetic town names such as
// "Cedar Falls" or "Maplewood".
var (
	dirTownPrefixes = strings.Fields(`Oak Cedar Maple Pine Elm Willow Ash Birch Spring River Lake Hill Green Fair Clear Rock Stone Brook Glen Red White Black Silver Gold Sun North South East West Mill Bridge Pleasant Fox Deer Eagle Hawk Bear Wolf Cherry Apple Rose Laurel Walnut Chestnut Hickory Poplar Sand Clay Iron Copper Lin Wood Marsh Bay Harbor Prairie Meadow Valley Ridge Highland Shady Crystal`)
	dirTownSuffixes = []string{"ville", "ton", "field", "wood", "dale", "burg", "port", " Falls", " Springs", " Creek", " Valley", " Heights", " Grove", " Park", " City", " Junction", "view", "ridge", "mont", "land", " Harbor", " Crossing", "haven", "brook", " Center", " Lake", " Point", " Bluff", " Hills", "ford"}
)

// dirCATowns are Canadian towns with their province; the Quebec and New
// Brunswick ones keep their French spelling.
var dirCATowns = strings.Split(`Kelowna|BC;Kamloops|BC;Nanaimo|BC;Victoria|BC;Prince George|BC;Chilliwack|BC;Abbotsford|BC;Penticton|BC;Vernon|BC;Surrey|BC;Red Deer|AB;Lethbridge|AB;Medicine Hat|AB;Grande Prairie|AB;Airdrie|AB;Lloydminster|AB;Calgary|AB;Edmonton|AB;Saskatoon|SK;Regina|SK;Moose Jaw|SK;Prince Albert|SK;Swift Current|SK;Brandon|MB;Winnipeg|MB;Steinbach|MB;Thompson|MB;Sudbury|ON;Thunder Bay|ON;Barrie|ON;Guelph|ON;Kingston|ON;Peterborough|ON;Belleville|ON;Sarnia|ON;Windsor|ON;London|ON;Kitchener|ON;Waterloo|ON;Hamilton|ON;Oshawa|ON;Niagara Falls|ON;North Bay|ON;Sault Ste. Marie|ON;Timmins|ON;Cornwall|ON;Brantford|ON;Stratford|ON;Owen Sound|ON;Orillia|ON;Moncton|NB;Fredericton|NB;Saint John|NB;Edmundston|NB;Caraquet|NB;Shippagan|NB;Bathurst|NB;Dieppe|NB;Halifax|NS;Truro|NS;Sydney|NS;Yarmouth|NS;Antigonish|NS;Charlottetown|PE;Summerside|PE;St. John's|NL;Corner Brook|NL;Gander|NL;Whitehorse|YT;Yellowknife|NT;Iqaluit|NU;Québec|QC;Lévis|QC;Trois-Rivières|QC;Sherbrooke|QC;Saguenay|QC;Gatineau|QC;Rimouski|QC;Drummondville|QC;Saint-Jérôme|QC;Granby|QC;Saint-Hyacinthe|QC;Shawinigan|QC;Joliette|QC;Victoriaville|QC;Rivière-du-Loup|QC;Sept-Îles|QC;Val-d'Or|QC;Rouyn-Noranda|QC;Chicoutimi|QC;Montmagny|QC;Baie-Comeau|QC;Sainte-Foy|QC;Beauport|QC;Magog|QC;Saint-Georges|QC;Thetford Mines|QC;Alma|QC;Matane|QC;Gaspé|QC;Lac-Mégantic|QC;Mont-Laurier|QC;Sorel-Tracy|QC;Châteauguay|QC;Repentigny|QC;Terrebonne|QC;Longueuil|QC;Laval|QC;Boucherville|QC;Blainville|QC;Mirabel|QC;Bécancour|QC;Nicolet|QC;Amos|QC;Roberval|QC;La Tuque|QC;Louiseville|QC;Bromont|QC;Cowansville|QC;Coaticook|QC;Montréal|QC`, ";")

// dirQCSaints and dirQCPlaces make synthetic Quebec parish names such as
// "Saint-Étienne-de-Beauce".
var (
	dirQCSaints = strings.Fields(`Saint-Jean Saint-Pierre Saint-Paul Saint-Louis Saint-Joseph Sainte-Anne Sainte-Marie Saint-Luc Saint-Jacques Saint-André Saint-Michel Saint-François Saint-Étienne Saint-Rémi Sainte-Hélène Sainte-Thérèse Sainte-Agathe Sainte-Élisabeth Sainte-Félicité Sainte-Adèle Sainte-Geneviève Sainte-Cécile Saint-Zénon Saint-Éloi Saint-Lambert Saint-Raymond Saint-Gabriel Saint-Apollinaire Saint-Barthélemy Saint-Benoît Sainte-Brigitte Saint-Césaire Saint-Damien Saint-Évariste Saint-Honoré Saint-Isidore Saint-Léonard Saint-Ours Saint-Prosper Saint-Ubalde`)
	dirQCPlaces = []string{"", "", "-de-Beauce", "-des-Monts", "-du-Lac", "-de-Bellechasse", "-sur-Richelieu", "-de-Kamouraska", "-de-la-Rivière", "-du-Rosaire", "-de-Lévis", "-des-Érables", "-de-Matane", "-du-Golfe", "-de-l'Île"}
)

// dirSurnames are common US surnames; dirFrenchSurnames common Québécois
// ones.
var (
	dirSurnames       = strings.Fields(`Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris Rogers Reed Cook Morgan Bell Murphy Bailey Cooper Richardson Cox Howard Ward Peterson Gray James Watson Brooks Kelly Sanders Price Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry Powell Long Patterson Hughes Washington Butler Simmons Foster Bryant Alexander Russell Griffin Hayes Myers Ford Hamilton Graham Sullivan Wallace West Cole Jordan Owens Reynolds Fisher Ellis Harrison Gibson McDonald Marshall Wells Tucker Porter Hunter Hicks Crawford Henry Boyd Mason Kennedy Warren Dixon Burns Gordon Shaw Holmes Rice Hunt Black Daniels Palmer Mills Grant Knight Ferguson Stone Hawkins Dunn Perkins Hudson Spencer Stephens Pierce Hansen Larson Olson Lindqvist Weber Schmidt Becker Wagner Hoffman Schultz Keller Meyer Fischer Bauer Klein Wolfe Nash Lowe Sherman Chandler Vaughn Lambert Whitney Prescott Thornton Merriweather Ashford Langley Whitaker Pemberton Hollister Kensington Sterling Winthrop Goldman Lehman Morrow Ainsworth Beckett Caldwell Donovan Fairbanks Garrison Hargrove Ingram Jarvis Kirkland Lockhart Mercer Norwood Oakley Pendleton Quinlan Radcliffe Sinclair Thatcher Underwood Vance Wakefield Yardley`)
	dirFrenchSurnames = strings.Fields(`Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier Bélanger Lévesque Bergeron Leblanc Paquette Girard Simard Boucher Caron Beaulieu Cloutier Dubé Poirier Fournier Lapointe Leclerc Lefebvre Poulin Thibault Nadeau Landry Martel Bédard Grenier Lessard Bernier Michaud Hébert Couture Turcotte Lachance Parent Blais Gosselin Savard Proulx Beaudoin Demers Perron Boudreau Lemieux Cyr Perreault Dufour Dion Mercier Bolduc Bérubé Boisvert Langlois Ménard Laplante Benoît Vachon Gélinas Brière Desrosiers Théberge Lévêque Chênevert Préfontaine`)
)

// dirQualifiers start many bank names ("Heritage State Bank").
var dirQualifiers = strings.Fields(`Citizens Peoples Security Heritage Pioneer Frontier Liberty Guaranty Commerce Community Home Union Merchants Planters Farmers Exchange Valley Summit Pinnacle Cornerstone Keystone Legacy Patriot Anchor Beacon Landmark Premier Sterling Capitol Central Northern Southern Western Eastern American United Great Integrity Horizon Evergreen Bluestem Prosperity Crossroads Gateway Meridian Compass Founders Traders Mechanics Lumbermens Stockmens Cattlemens`)

// dirRegions are US regional names used by regional banks and credit
// unions.
var dirRegions = []string{"Midwest", "Heartland", "Great Plains", "Gulf Coast", "Pacific Northwest", "High Desert", "Blue Ridge", "Ozark", "Piedmont", "Tidewater", "Lowcountry", "Hill Country", "Big Sky", "Great Lakes", "Chesapeake", "Cumberland", "Shenandoah", "Mohawk Valley", "Hudson Valley", "Delta", "Bayou", "Coastal", "Mountain West", "Tri-County", "Lakeshore", "Prairie", "Riverbend", "Sierra", "Cascade", "Inland Empire", "Panhandle", "Red River", "Central Valley", "North Country", "Upstate", "Southern Tier", "First Coast", "Treasure Coast", "Emerald Coast", "Golden Triangle", "Permian Basin", "Black Hills", "Iron Range", "Northwoods", "Upper Peninsula", "Wabash Valley", "Ohio Valley", "Mississippi Valley", "Rio Grande", "Four Corners", "Front Range", "Wasatch", "Palouse", "Willamette", "Allegheny", "Catskill", "Adirondack", "Berkshire", "Cape Cod", "Finger Lakes", "Susquehanna", "Brazos", "Sandhills", "Flint Hills", "Kanawha", "Tennessee Valley", "Yellowstone", "Snake River", "Coeur d'Alene"}

// dirCARegions are Canadian regional names.
var dirCARegions = []string{"Prairie", "Maritime", "Atlantic", "Northern", "Okanagan", "Fraser Valley", "Kootenay", "Peace Country", "Niagara", "Muskoka", "Ottawa Valley", "Golden Horseshoe", "Cariboo", "Interlake", "Parkland"}

// dirQCRegions are Quebec regions used by French-language institutions.
var dirQCRegions = []string{"Beauce", "Bas-Saint-Laurent", "Côte-Nord", "Estrie", "Mauricie", "Outaouais", "Laurentides", "Lanaudière", "Montérégie", "Saguenay–Lac-Saint-Jean", "Abitibi-Témiscamingue", "Gaspésie", "Charlevoix", "Chaudière-Appalaches", "Centre-du-Québec"}

// dirEmployers name employee credit unions ("Postal Employees Credit
// Union") and national ones ("Navy Federal Credit Union").
var dirEmployers = []string{"Teachers", "Firefighters", "Postal", "Police", "Nurses", "Railroad", "Telephone", "Utility", "County", "State", "Educators", "Health Care", "Municipal", "Transit", "Airline", "Steelworkers", "Electrical Workers", "Farm Bureau", "Hospital", "University", "School", "Refinery", "Paper Mill", "Shipyard", "Aerospace", "Navy", "Army", "Air Force", "Marine", "Coast Guard", "Veterans", "Pentagon", "Government", "Federal Employees", "Public Service", "Energy", "Agricultural", "Church", "Power Company", "Mining"}

// dirFintechWords name fintech-style OTHER institutions ("Brightside
// Money").
var dirFintechWords = strings.Fields(`Brightside Bluebird Clearpath Greenlight Northstar Openfield Brightwater Tailwind Lumen Kite Harbor Juniper Quill Ember Nimbus Orbit Pebble Sprout Tandem Wren Zephyr Aurora Cobalt Fern Atlas Mosaic Prism Solace Vireo Cypress Beacon Ledger Crest Current Rally Haven Arbor Willow Drift`)
var dirFintechNouns = []string{"Money", "Pay", "Wallet", "Cash", "Card", "Savings", "Finance", "Financial", "Lending", "Mortgage"}

// dirUSStateNames maps banklink.USStates codes to state names.
var dirUSStateNames = map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
	"CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
	"IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
	"ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
	"MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
	"NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
	"OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
	"TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
	"WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
}

// dirBigUSStates get more institutions than the others, as populous
// states do.
var dirBigUSStates = strings.Fields(`CA TX FL NY PA IL OH GA NC MI NJ VA WA`)

// dirCAProvinceWeights spreads Canadian institutions roughly by
// population; keys are banklink.CAProvinces codes.
var dirCAProvinceWeights = map[string]int{"ON": 36, "QC": 30, "BC": 12, "AB": 10, "MB": 3, "SK": 3, "NS": 2, "NB": 2, "NL": 1, "PE": 1, "NT": 1, "NU": 1, "YT": 1}
