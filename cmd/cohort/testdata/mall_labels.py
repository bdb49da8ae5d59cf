"""Another tool's segmentation of Mall Customers, for `cohort evaluate --labels`.

scikit-learn's k-means (5 segments) on annual income and spending score,
unscaled, written as customer id and a text label, in shuffled order; and
scikit-learn's own scores of those labels, which Cohort must match.
Run: /usr/bin/python3 mall_labels.py  (writes mall_labels.csv, prints the scores)
"""
import json, os
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score, calinski_harabasz_score, davies_bouldin_score

here = os.path.dirname(os.path.abspath(__file__))
d = pd.read_csv(os.path.join(here, "../../../../shared/data/mall_customers/Mall_Customers.csv"))
X = d[["Annual Income (k$)", "Spending Score (1-100)"]].values.astype(float)
lab = KMeans(5, n_init=10, random_state=0).fit_predict(X)
pd.DataFrame({"customer": d.CustomerID, "segment": ["group-%d" % l for l in lab]}).sample(
    frac=1, random_state=1).to_csv(os.path.join(here, "mall_labels.csv"), index=False)
print(json.dumps({"silhouette": silhouette_score(X, lab),
                  "manhattan_silhouette": silhouette_score(X, lab, metric="manhattan"),
                  "calinski_harabasz": calinski_harabasz_score(X, lab),
                  "davies_bouldin": davies_bouldin_score(X, lab)}))
