"""Words the demo catalog is made of: themes (top-level categories) and shopping styles.

A product's name is "<style adjective> <material> <noun>", so its text carries its style and its
category, which is what content similarity (TF-IDF) can learn from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    name: str
    description: str
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    sub_categories: tuple[str, ...]
    median_price: float
    usage: str


@dataclass(frozen=True)
class Style:
    name: str
    adjectives: tuple[str, ...]
    pitch: str


THEMES: tuple[Theme, ...] = (
    Theme(
        "Kitchen",
        "Cookware, tableware and everything for the home cook.",
        (
            "Mug",
            "Teapot",
            "Cutting Board",
            "Saucepan",
            "Mixing Bowl",
            "Salad Servers",
            "Butter Dish",
            "Cake Tin",
            "Chef's Knife",
            "Spice Rack",
            "Colander",
            "Cafetiere",
        ),
        ("Ceramic", "Oak", "Stainless Steel", "Enamel", "Cast Iron", "Bamboo", "Stoneware"),
        ("Cookware", "Tableware", "Baking", "Tea & Coffee"),
        18.0,
        "Dishwasher safe unless stated; hand washing keeps it looking new for longer.",
    ),
    Theme(
        "Home Decor",
        "Cushions, lamps, frames and small things that make a room.",
        (
            "Cushion",
            "Table Lamp",
            "Photo Frame",
            "Vase",
            "Wall Clock",
            "Candle Holder",
            "Mirror",
            "Throw",
            "Plant Pot",
            "Storage Basket",
            "Doorstop",
            "Bookends",
        ),
        ("Linen", "Brass", "Rattan", "Glass", "Velvet", "Wool", "Marble"),
        ("Lighting", "Textiles", "Wall Art", "Storage"),
        24.0,
        "Each piece is checked by hand before it leaves our warehouse.",
    ),
    Theme(
        "Electronics",
        "Headphones, chargers, speakers and smart gadgets.",
        (
            "Wireless Earbuds",
            "Bluetooth Speaker",
            "Power Bank",
            "USB-C Charger",
            "Smart Plug",
            "Desk Lamp",
            "Keyboard",
            "Mouse",
            "Webcam",
            "Phone Stand",
            "Headphones",
            "Action Camera",
        ),
        ("Aluminium", "Matte Black", "White", "Graphite", "Silver", "Recycled Plastic"),
        ("Audio", "Charging", "Computer Accessories", "Smart Home"),
        39.0,
        "Comes with a two-year warranty and a USB-C cable.",
    ),
    Theme(
        "Books",
        "Fiction, cookbooks, travel guides and notebooks.",
        (
            "Novel",
            "Cookbook",
            "Travel Guide",
            "Notebook",
            "Journal",
            "Poetry Collection",
            "Atlas",
            "Sketchbook",
            "Planner",
            "Field Guide",
            "Puzzle Book",
            "Biography",
        ),
        ("Hardback", "Paperback", "Cloth-bound", "Illustrated", "Pocket", "Large-print"),
        ("Fiction", "Non-fiction", "Stationery", "Children's Books"),
        12.0,
        "Printed on responsibly sourced paper.",
    ),
    Theme(
        "Garden",
        "Tools, planters and outdoor living.",
        (
            "Trowel",
            "Watering Can",
            "Planter",
            "Bird Feeder",
            "Garden Gloves",
            "Pruning Shears",
            "Seed Kit",
            "Hose Reel",
            "Lantern",
            "Bench Cushion",
            "Wind Chime",
            "Kneeler",
        ),
        ("Galvanised Steel", "Terracotta", "Teak", "Zinc", "Canvas", "Recycled Plastic"),
        ("Tools", "Planters", "Outdoor Living", "Wildlife"),
        22.0,
        "Made to live outdoors all year round.",
    ),
    Theme(
        "Toys & Games",
        "Puzzles, board games and toys for every age.",
        (
            "Jigsaw Puzzle",
            "Board Game",
            "Building Blocks",
            "Plush Bear",
            "Kite",
            "Card Game",
            "Train Set",
            "Doll's House",
            "Marble Run",
            "Science Kit",
            "Yo-yo",
            "Rocking Horse",
        ),
        ("Wooden", "Felt", "Cardboard", "Tin", "Cotton", "Recycled Plastic"),
        ("Puzzles", "Board Games", "Soft Toys", "Outdoor Play"),
        16.0,
        "Safety tested to EN 71; suitable for ages 3 and up unless stated.",
    ),
    Theme(
        "Sports & Outdoors",
        "Kit for running, hiking, cycling and the gym.",
        (
            "Water Bottle",
            "Yoga Mat",
            "Running Cap",
            "Hiking Backpack",
            "Bike Light",
            "Resistance Bands",
            "Camping Mug",
            "Head Torch",
            "Dry Bag",
            "Skipping Rope",
            "Foam Roller",
            "Trekking Poles",
        ),
        ("Nylon", "Cork", "Titanium", "Merino", "Ripstop", "Neoprene"),
        ("Running", "Hiking", "Cycling", "Fitness"),
        27.0,
        "Tested on the trails by our own team.",
    ),
    Theme(
        "Beauty",
        "Skincare, bath and body, and grooming.",
        (
            "Hand Cream",
            "Face Serum",
            "Bath Salts",
            "Lip Balm",
            "Shampoo Bar",
            "Body Lotion",
            "Soap Bar",
            "Face Mask",
            "Hair Brush",
            "Nail Kit",
            "Perfume Oil",
            "Beard Oil",
        ),
        ("Lavender", "Rose", "Citrus", "Oat", "Charcoal", "Shea", "Eucalyptus"),
        ("Skincare", "Bath & Body", "Hair", "Grooming"),
        14.0,
        "Cruelty free and dermatologically tested.",
    ),
    Theme(
        "Clothing",
        "Knitwear, scarves, socks and everyday layers.",
        (
            "Scarf",
            "Beanie",
            "Jumper",
            "Socks",
            "T-shirt",
            "Cardigan",
            "Gloves",
            "Tote Bag",
            "Apron",
            "Pyjamas",
            "Rain Jacket",
            "Slippers",
        ),
        ("Cotton", "Merino", "Linen", "Cashmere", "Denim", "Fleece"),
        ("Knitwear", "Accessories", "Nightwear", "Outerwear"),
        29.0,
        "Sizes run true; free returns within 30 days.",
    ),
    Theme(
        "Pet Supplies",
        "Beds, bowls, toys and treats for cats and dogs.",
        (
            "Dog Bed",
            "Cat Bowl",
            "Lead",
            "Collar",
            "Chew Toy",
            "Scratching Post",
            "Pet Blanket",
            "Treat Jar",
            "Grooming Brush",
            "Travel Crate",
            "Feather Wand",
            "Poop Bag Holder",
        ),
        ("Canvas", "Rope", "Ceramic", "Leather", "Fleece", "Natural Rubber"),
        ("Dogs", "Cats", "Beds & Bedding", "Toys"),
        17.0,
        "Vet approved materials, machine washable where fabric.",
    ),
    Theme(
        "Stationery",
        "Pens, paper, desk organisers and gift wrap.",
        (
            "Fountain Pen",
            "Pencil Set",
            "Desk Organiser",
            "Greeting Card",
            "Gift Wrap",
            "Washi Tape",
            "Letter Set",
            "Bookmark",
            "Paper Clips",
            "Stamp Set",
            "Pencil Case",
            "Calendar",
        ),
        ("Kraft", "Brass", "Recycled Paper", "Walnut", "Cotton Paper", "Acrylic"),
        ("Writing", "Paper", "Desk", "Gift Wrap"),
        9.0,
        "Designed in our studio and printed locally.",
    ),
    Theme(
        "Party & Gifts",
        "Party supplies, gift sets and seasonal decorations.",
        (
            "Gift Set",
            "Bunting",
            "Party Cups",
            "Napkins",
            "Candle",
            "Hamper",
            "Bauble",
            "Advent Calendar",
            "Piñata",
            "Gift Box",
            "Paper Lanterns",
            "Cake Toppers",
        ),
        ("Paper", "Glass", "Soy Wax", "Gold Foil", "Felt", "Wicker"),
        ("Celebrations", "Seasonal", "Gift Sets", "Tableware"),
        13.0,
        "Gift wrapping available at checkout.",
    ),
)

STYLES: tuple[Style, ...] = (
    Style(
        "classic",
        ("Classic", "Heritage", "Vintage", "Traditional"),
        "A timeless design that never goes out of fashion.",
    ),
    Style(
        "modern",
        ("Modern", "Minimal", "Sleek", "Nordic"),
        "Clean lines and a pared-back, modern look.",
    ),
    Style(
        "rustic",
        ("Rustic", "Handmade", "Farmhouse", "Artisan"),
        "Made by hand, with the charm of natural imperfections.",
    ),
    Style(
        "playful", ("Playful", "Colourful", "Bright", "Retro"), "Bold colours and a sense of fun."
    ),
    Style(
        "luxury",
        ("Luxury", "Premium", "Deluxe", "Signature"),
        "Our finest materials and finishing, made to be given.",
    ),
    Style(
        "eco",
        ("Eco", "Organic", "Sustainable", "Conscious"),
        "Low-impact materials and plastic-free packaging.",
    ),
)

REVIEW_COMMENTS: dict[int, tuple[str, ...]] = {
    1: ("Disappointed: not as described.", "Broke within a week.", "Would not buy again."),
    2: ("Smaller than expected.", "Quality is so-so for the price.", "Arrived late and scuffed."),
    3: ("Does the job.", "Fine, nothing special.", "Good value but the finish is average."),
    4: ("Really nice, well made.", "Lovely quality, fast delivery.", "Very happy with it."),
    5: ("Absolutely love it!", "Perfect, bought a second one as a gift.", "Beautiful and sturdy."),
}
