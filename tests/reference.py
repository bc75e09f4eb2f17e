"""An independent reference implementation of the UFLDL network, for tests only.

Written the slow, literal way: one example at a time, scalar loops over units, derivatives from
their textbook formulas (not from nettrain.activations). Nothing is shared with nettrain except
the parameter layout W[l] (s_{l+1}, s_l), b[l] (s_{l+1},).
"""

import math


def f(name, z):
    if name == "sigmoid":
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    return z  # identity


def fprime(name, z):
    if name == "sigmoid":
        s = f("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - math.tanh(z) ** 2
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    return 1.0


def forward_one(layers, act, out_act, W, b, x):
    """Returns lists z[l], a[l] (index = layer number, 1-based; z[1] unused) for one example x."""
    nl = len(layers)
    a = [None, list(x)]
    z = [None, None]
    for l in range(1, nl):
        zl = [sum(W[l][i][j] * a[l][j] for j in range(layers[l - 1])) + b[l][i] for i in range(layers[l])]
        if l + 1 == nl and out_act == "softmax":
            mx = max(zl)
            e = [math.exp(v - mx) for v in zl]
            s = sum(e)
            al = [v / s for v in e]
        else:
            name = out_act if l + 1 == nl else act
            al = [f(name, v) for v in zl]
        z.append(zl)
        a.append(al)
    return z, a


def example_cost(loss, out_act, z, a, y):
    if loss == "squared_error":
        return 0.5 * sum((ak - yk) ** 2 for ak, yk in zip(a, y))
    if out_act == "softmax":
        mx = max(z)
        lse = mx + math.log(sum(math.exp(v - mx) for v in z))
        return -sum(yk * (zk - lse) for zk, yk in zip(z, y))
    # sigmoid: −[y log a + (1 − y) log(1 − a)], written with log1p/exp for stability
    total = 0.0
    for zk, yk in zip(z, y):
        log_a = -math.log1p(math.exp(-zk)) if zk > -30 else zk
        log_1ma = -math.log1p(math.exp(zk)) if zk < 30 else -zk
        total -= yk * log_a + (1 - yk) * log_1ma
    return total


def output_delta(loss, out_act, z, a, y):
    k = len(a)
    if loss == "cross_entropy":
        if out_act == "softmax":
            sy = sum(y)
            return [a[i] * sy - y[i] for i in range(k)]
        return [a[i] - y[i] for i in range(k)]
    g = [a[i] - y[i] for i in range(k)]  # ∂(½‖a − y‖²)/∂a
    if out_act == "softmax":  # ∂a_j/∂z_i = a_j (δ_ij − a_i)
        return [sum(g[j] * a[j] * ((1.0 if i == j else 0.0) - a[i]) for j in range(k)) for i in range(k)]
    return [g[i] * fprime(out_act, z[i]) for i in range(k)]


def cost_and_grad(layers, act, out_act, loss, W, b, X, Y, lam):
    """X, Y: lists of examples (rows). Returns J, J_data, J_reg, dW, db (nested lists)."""
    passes = [forward_one(layers, act, out_act, W, b, x) for x in X]
    J_data, J_reg, dW, db = _backprop(layers, act, out_act, loss, W, passes, Y, lam, lambda l, i: 0.0)
    return J_data + J_reg, J_data, J_reg, dW, db


def _backprop(layers, act, out_act, loss, W, passes, Y, lam, hidden_term):
    """J_data, J_reg, ∂J/∂W, ∂J/∂b from every example's forward pass (z, a), by the UFLDL equations, with
    δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾ + hidden_term(l, i))·f′(zᵢ⁽ˡ⁾) for the hidden layers."""
    nl = len(layers)
    m = len(passes)
    dW = {l: [[0.0] * layers[l - 1] for _ in range(layers[l])] for l in range(1, nl)}
    db = {l: [0.0] * layers[l] for l in range(1, nl)}
    J_data = 0.0
    for (z, a), y in zip(passes, Y):
        J_data += example_cost(loss, out_act, z[nl], a[nl], y)
        delta = {nl: output_delta(loss, out_act, z[nl], a[nl], y)}
        for l in range(nl - 1, 1, -1):
            delta[l] = [
                (sum(W[l][j][i] * delta[l + 1][j] for j in range(layers[l])) + hidden_term(l, i))
                * fprime(act, z[l][i])
                for i in range(layers[l - 1])
            ]
        for l in range(1, nl):
            for i in range(layers[l]):
                db[l][i] += delta[l + 1][i]
                for j in range(layers[l - 1]):
                    dW[l][i][j] += delta[l + 1][i] * a[l][j]
    J_data /= m
    J_reg = lam / 2 * sum(w * w for l in range(1, nl) for row in W[l] for w in row)
    for l in range(1, nl):
        for i in range(layers[l]):
            db[l][i] /= m
            for j in range(layers[l - 1]):
                dW[l][i][j] = dW[l][i][j] / m + lam * W[l][i][j]
    return J_data, J_reg, dW, db


def sparse_cost_and_grad(layers, act, out_act, loss, W, b, X, Y, lam, rho, beta):
    """The sparse autoencoder's J = J_data + J_reg + β Σₗ Σⱼ KL(ρ‖ρ̂ⱼ⁽ˡ⁾) and its gradient, the UFLDL way:
    a forward pass over every example first (ρ̂ⱼ⁽ˡ⁾ = (1/m) Σᵢ aⱼ⁽ˡ⁾(xᵢ), every hidden layer l), then
    backprop with δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾ + β(−ρ/ρ̂ᵢ + (1 − ρ)/(1 − ρ̂ᵢ)))·f′(zᵢ⁽ˡ⁾).
    Returns J, J_data, J_reg, J_sparse, rho_hat (dict l → list), dW, db."""
    nl = len(layers)
    m = len(X)
    passes = [forward_one(layers, act, out_act, W, b, x) for x in X]
    rho_hat = {l: [sum(a[l][i] for _, a in passes) / m for i in range(layers[l - 1])] for l in range(2, nl)}
    J_sparse = beta * sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
                          for l in rho_hat for r in rho_hat[l])
    J_data, J_reg, dW, db = _backprop(layers, act, out_act, loss, W, passes, Y, lam,
                                      lambda l, i: beta * (-rho / rho_hat[l][i] + (1 - rho) / (1 - rho_hat[l][i])))
    return J_data + J_reg + J_sparse, J_data, J_reg, J_sparse, rho_hat, dW, db
