package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohort/cohort/partition"
)

// Now is the reference date the data is generated up to: fixed, so the same
// seed gives the same file on any day.
var Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// persona is a latent kind of customer.
type persona struct {
	name           string
	share          float64
	ageMean, ageSD float64
	income         float64 // median yearly income
	orders         float64 // mean orders over the customer's tenure
	aov            float64 // median order value
	recency        float64 // mean days since the last order
	tenureYears    float64 // mean years since sign-up
	channels       [4]float64
}

var personas = []persona{
	{"loyal big spenders", 0.12, 45, 10, 85000, 25, 120, 15, 6, [4]float64{0.5, 0.2, 0.25, 0.05}},
	{"regulars", 0.30, 38, 12, 50000, 8, 60, 40, 4, [4]float64{0.45, 0.35, 0.15, 0.05}},
	{"bargain hunters", 0.20, 30, 9, 32000, 12, 25, 30, 3, [4]float64{0.6, 0.1, 0.28, 0.02}},
	{"new customers", 0.18, 29, 8, 40000, 1.5, 50, 20, 0.3, [4]float64{0.5, 0.2, 0.3, 0}},
	{"lapsed", 0.20, 50, 14, 45000, 4, 55, 300, 5, [4]float64{0.3, 0.5, 0.05, 0.15}},
}

var (
	channels  = []string{"web", "store", "app", "phone"}
	countries = []string{"United Kingdom", "Germany", "France", "Ireland", "Spain", "Netherlands", "Belgium",
		"Switzerland", "Portugal", "Australia", "Norway", "Italy", "Sweden", "Denmark", "Poland", "Austria",
		"Finland", "Japan", "Canada", "USA"}
)

// rng is the generator for one chunk: chunks are independent streams of one
// seed, so any chunk can be made without the others.
func rng(seed uint64, chunk int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed^uint64(chunk)*0x9e3779b97f4a7c15))
}

func pick(r *rand.Rand, weights []float64) int {
	u := r.Float64()
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

func personaOf(r *rand.Rand) persona {
	w := make([]float64, len(personas))
	for i, p := range personas {
		w[i] = p.share
	}
	return personas[pick(r, w)]
}

// zipf picks 0..n-1 with weight 1/(i+1)^s.
func zipf(r *rand.Rand, n int, s float64) func() int {
	z := rand.NewZipf(r, s, 1, uint64(n-1))
	return func() int { return int(z.Uint64()) }
}

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func poisson(r *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// CustomerFields is the customers table's schema.
var CustomerFields = []partition.Field{
	{Name: "CustomerID", Type: partition.Text},
	{Name: "Age", Type: partition.Number},
	{Name: "Gender", Type: partition.Text},
	{Name: "Country", Type: partition.Text},
	{Name: "Channel", Type: partition.Text},
	{Name: "SignupDate", Type: partition.Time, Layout: partition.TimeLayout},
	{Name: "Income", Type: partition.Number},
	{Name: "Orders", Type: partition.Number},
	{Name: "TotalSpend", Type: partition.Number},
	{Name: "DaysSinceLastOrder", Type: partition.Number},
}

// Customers returns chunk chunk of a customers table: rows rows, customer
// ids first, first+1, .... About 3% of ages, 8% of incomes and 2% of genders
// are missing; money is log-normal.
func Customers(seed uint64, chunk int, first int64, rows int) *partition.Table {
	r := rng(seed, chunk)
	country := zipf(r, len(countries), 1.3)
	t := partition.NewTable(CustomerFields)
	for i := range rows {
		p := personaOf(r)
		id := fmt.Sprintf("C%09d", first+int64(i))
		age := math.Round(min(90, max(18, p.ageMean+p.ageSD*r.NormFloat64())))
		if r.Float64() < 0.03 {
			age = math.NaN()
		}
		gender := []string{"F", "M", "X"}[pick(r, []float64{0.5, 0.48, 0.02})]
		missingGender := r.Float64() < 0.02
		tenure := max(1.0/365, p.tenureYears*r.ExpFloat64())
		signup := Now.Add(-time.Duration(tenure * 365 * 24 * float64(time.Hour))).Truncate(time.Second)
		income := math.Round(lognormal(r, p.income, 0.45)/100) * 100
		if r.Float64() < 0.08 {
			income = math.NaN()
		}
		// Customers differ within a persona too: how often they buy and how
		// much (gamma-Poisson orders, a per-customer basket size), which is
		// what gives money its long tail.
		orders := max(1, poisson(r, p.orders*lognormal(r, 1, 0.6)))
		basket := lognormal(r, p.aov, 0.6)
		spend := 0.0
		for range orders {
			spend += lognormal(r, basket, 0.5)
		}
		recency := math.Min(math.Round(p.recency*r.ExpFloat64()), math.Floor(tenure*365))

		t.AppendText(0, id, false)
		t.Columns[1].Num = append(t.Columns[1].Num, age)
		t.AppendText(2, gender, missingGender)
		t.AppendText(3, countries[country()], false)
		t.AppendText(4, channels[pick(r, p.channels[:])], false)
		t.Columns[5].Times = append(t.Columns[5].Times, signup.UnixMilli())
		t.Columns[6].Num = append(t.Columns[6].Num, income)
		t.Columns[7].Num = append(t.Columns[7].Num, float64(orders))
		t.Columns[8].Num = append(t.Columns[8].Num, round2(spend))
		t.Columns[9].Num = append(t.Columns[9].Num, recency)
		t.Rows++
	}
	return t
}

// TransactionFields is the transaction log's schema, that of UCI's Online
// Retail.
var TransactionFields = []partition.Field{
	{Name: "InvoiceNo", Type: partition.Text},
	{Name: "StockCode", Type: partition.Text},
	{Name: "Quantity", Type: partition.Number},
	{Name: "InvoiceDate", Type: partition.Time, Layout: partition.TimeLayout},
	{Name: "UnitPrice", Type: partition.Number},
	{Name: "CustomerID", Type: partition.Text},
	{Name: "Country", Type: partition.Text},
}

// products is the catalogue size; a product's price is fixed by its code.
const products = 4000

// prices are the catalogue's unit prices, the same for every seed.
var prices = sync.OnceValue(func() []float64 {
	r := rand.New(rand.NewPCG(0xc0de, 1))
	out := make([]float64, products)
	for i := range out {
		out[i] = math.Max(0.1, round2(lognormal(r, 3, 0.9)))
	}
	return out
})

// Transactions returns chunk chunk of a transaction log: the invoices of
// customers first..first+customers-1, one row per invoice line, in invoice
// order per customer, and how many invoice numbers it used. About 2% of
// orders are cancelled by a later invoice "C…" with negative quantities,
// and 20% of invoices are guest checkouts with no customer id, as in Online
// Retail. Invoices are numbered from 0 within the chunk, so chunks can be
// made in parallel; Renumber shifts them when the chunks before are known.
func Transactions(seed uint64, chunk int, first int64, customers int) (*partition.Table, int64) {
	r := rng(seed, chunk)
	var next int64
	countryOf, product, price := zipf(r, len(countries), 1.3), zipf(r, products, 1.1), prices()
	t := partition.NewTable(TransactionFields)
	for c := range customers {
		p := personaOf(r)
		id := fmt.Sprintf("%d", 12346+first+int64(c))
		country := countries[countryOf()]
		tenure := max(1.0/365, p.tenureYears*r.ExpFloat64())
		lastDay := math.Min(p.recency*r.ExpFloat64(), tenure*365)
		orders := max(1, poisson(r, p.orders))
		for range orders {
			days := lastDay + r.Float64()*(tenure*365-lastDay)
			at := Now.Add(-time.Duration(days * 24 * float64(time.Hour))).Truncate(time.Minute)
			guest := r.Float64() < 0.2
			invoice := strconv.FormatInt(next, 10)
			next++
			lines := 1 + int(r.ExpFloat64()*4)
			start := t.Rows
			for range lines {
				code := product()
				qty := 1 + int(r.ExpFloat64()*p.aov/20)
				t.AppendText(0, invoice, false)
				t.AppendText(1, fmt.Sprintf("%05d", 10000+code), false)
				t.Columns[2].Num = append(t.Columns[2].Num, float64(qty))
				t.Columns[3].Times = append(t.Columns[3].Times, at.UnixMilli())
				t.Columns[4].Num = append(t.Columns[4].Num, price[code])
				t.AppendText(5, id, guest)
				t.AppendText(6, country, false)
				t.Rows++
			}
			if r.Float64() < 0.02 {
				// A cancellation a few days later, of some of the lines.
				cancel := "C" + strconv.FormatInt(next, 10)
				next++
				later := at.Add(time.Duration(1+r.IntN(5*24)) * time.Hour)
				for row := start; row < start+lines; row++ {
					if r.IntN(2) == 0 && row != start {
						continue
					}
					code, _ := t.Columns[1].Text(row)
					t.AppendText(0, cancel, false)
					t.AppendText(1, code, false)
					t.Columns[2].Num = append(t.Columns[2].Num, -t.Columns[2].Num[row])
					t.Columns[3].Times = append(t.Columns[3].Times, later.UnixMilli())
					t.Columns[4].Num = append(t.Columns[4].Num, t.Columns[4].Num[row])
					t.AppendText(5, id, guest)
					t.AppendText(6, country, false)
					t.Rows++
				}
			}
		}
	}
	return t, next
}

// FirstInvoice is the number of a log's first invoice, as in Online Retail.
const FirstInvoice = 536365

// Renumber adds offset to every invoice number of a chunk from Transactions.
func Renumber(t *partition.Table, offset int64) {
	c := &t.Columns[0]
	for i, s := range c.Dict {
		prefix := ""
		if strings.HasPrefix(s, "C") {
			prefix, s = "C", s[1:]
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		c.Dict[i] = prefix + strconv.FormatInt(n+offset, 10)
	}
}
